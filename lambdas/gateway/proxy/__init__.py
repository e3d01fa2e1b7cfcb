"""The scoped proxy: customer requests checked against the route table, forwarded to
Opower with the binding's ids and the broker's token, answered in one error envelope."""
