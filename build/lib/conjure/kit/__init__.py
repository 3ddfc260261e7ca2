"""The app kit: what every app built on the platform would otherwise repeat.

- :mod:`conjure.kit.spec`: :class:`AppSpec`, what an app adds (routers, job kinds, migrations);
- :mod:`conjure.kit.submit`: the submit route's options (``Idempotency-Key``, ``Cancel-After``,
  a completion ``webhook``), :func:`submit` and "my job of this kind, else 404";
- :mod:`conjure.kit.paging`: ``Page[T]`` and the ``limit``/``offset`` dependency of every list;
- :mod:`conjure.kit.problems`: the problem+json response maps routers declare for OpenAPI.

This package imports nothing at its top, so the runtime can import :mod:`conjure.kit.spec`
without pulling in FastAPI routes or the job service.
"""
