-- Self-service sign-up: an account that signed itself up waits for an admin's approval
-- (it is created deactivated; approving reactivates it and clears this flag).
ALTER TABLE users ADD COLUMN awaiting_approval boolean NOT NULL DEFAULT false;
