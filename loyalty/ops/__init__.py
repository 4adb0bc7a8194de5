"""Running the service in production: health and readiness, structured logs with request ids,
Prometheus metrics, and the edge every request passes (security headers, cross-origin refusal)."""
