"""The outbound side's HTTP API: endpoint management, deliveries and the public event catalog."""
