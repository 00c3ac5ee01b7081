"""How applications meet the SDK: framework middlewares, the logging bridge, crash hooks.

Each integration is its own module and is imported explicitly, so importing
``tracehub`` or this package never imports a web framework:

* :mod:`tracehub.integrations.fastapi` - ``TraceHubMiddleware`` (pure ASGI, Starlette/FastAPI)
* :mod:`tracehub.integrations.flask` - ``init_tracehub(app)``
* :mod:`tracehub.integrations.django` - ``"tracehub.integrations.django.TraceHubMiddleware"``
* :mod:`tracehub.integrations.logging` - ``TraceHubHandler``, the stdlib ``logging`` bridge
* :mod:`tracehub.integrations.unhandled` - ``install(logger)``, behind
  ``logger.capture_unhandled()``

The framework modules raise an ``ImportError`` naming the extra to install
(``pip install 'tracehub-sdk[flask]'``) when their framework is missing.
"""

__all__: list[str] = []
