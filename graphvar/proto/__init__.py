"""TensorFlow's protocol buffer messages (same field numbers), generated from the .proto files here.

The ``*_pb2.py`` modules are generated once and committed, so the runtime needs only the
``protobuf`` package, never protoc. To regenerate after editing a ``.proto`` (from the repo root,
with ``grpcio-tools`` installed anywhere)::

    python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. graphvar/proto/*.proto

The generated code checks the runtime's version: pyproject.toml's ``protobuf`` bound must be at
least the "Protobuf Python Version" in the generated headers.
"""

try:
    import google.protobuf  # noqa: F401
except ImportError as e:  # pragma: no cover - protobuf is a core dependency
    raise ImportError(
        "graphvar's summaries and graph export need the 'protobuf' package: pip install 'protobuf>=7.35.1'"
    ) from e
