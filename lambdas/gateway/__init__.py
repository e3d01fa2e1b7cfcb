"""Opower Gateway runtime library: everything the Lambda handlers call into.

Nothing here imports boto3, Powertools Parameters or PyJWT at module level: the
handlers' cold start pays only for what a request actually uses.
"""
