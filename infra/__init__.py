"""The CDK infrastructure of the gateway: the stack composes one construct per concern."""
