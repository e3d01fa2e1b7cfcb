"""The gateway's one version (semantic versioning): the package's, the OpenAPI documents'
``info.version``, the stack's resources' ``opower-gateway:version`` tag and the `make dev`
banner all read it from here. What each version changes that a utility must act on is in
CHANGELOG.md; how one is released is in docs/releasing.md."""

VERSION = "1.2.0"
