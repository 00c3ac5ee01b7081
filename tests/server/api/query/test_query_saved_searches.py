"""/api/v1/projects/{id}/saved-searches: shared within the project, written by members."""

from __future__ import annotations

from query_api_support import World


async def test_member_saves_lists_and_deletes_a_search(client, world: World) -> None:
    """A member saves a search, a viewer of the project sees it, the member deletes it."""
    url = f"/api/v1/projects/{world.a}/saved-searches"
    body = {"name": "  Payment   errors ", "query": "level=ERROR&q=payment"}
    r = await client.post(url, json=body, headers=world.member.bearer)
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["name"] == "Payment errors"
    assert saved["created_by"] == world.member.email
    assert (await client.post(url, json=body, headers=world.member.bearer)).status_code == 409
    listed = (await client.get(url, headers=world.viewer.bearer)).json()
    assert [(s["name"], s["query"]) for s in listed] == [("Payment errors", body["query"])]
    r = await client.delete(f"{url}/{saved['id']}", headers=world.member.bearer)
    assert r.status_code == 204
    assert (await client.get(url, headers=world.member.bearer)).json() == []
    r = await client.delete(f"{url}/{saved['id']}", headers=world.member.bearer)
    assert r.status_code == 404


async def test_viewers_and_outsiders_cannot_write(client, world: World) -> None:
    """A viewer gets 403; someone outside the project gets 404 even to list; empty name 422."""
    url = f"/api/v1/projects/{world.a}/saved-searches"
    body = {"name": "mine", "query": "level=WARN"}
    assert (await client.post(url, json=body, headers=world.viewer.bearer)).status_code == 403
    assert (await client.get(url, headers=world.outsider.bearer)).status_code == 404
    assert (await client.post(url, json=body, headers=world.outsider.bearer)).status_code == 404
    r = await client.post(url, json={"name": " ", "query": ""}, headers=world.member.bearer)
    assert r.status_code == 422
