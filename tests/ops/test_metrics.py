"""Prometheus metrics at /metrics: request latency by route template, job outcomes; served
only to loopback callers or with the metrics token."""

from __future__ import annotations

import httpx

from loyalty.app import create_app


def _series(text: str, name: str) -> dict[str, float]:
    """{'labels': value} of one metric in the text exposition format."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name):].rsplit(" ", 1)
            found[labels] = float(value)
    return found


async def test_request_latency_is_counted_per_route_template(client, database):
    await client.get("/api/v1/projects")
    await client.get("/api/v1/staff/members/12345")  # 401: counted under its template, not its id
    text = (await client.get("/metrics")).text

    counts = _series(text, "loyalty_requests_total")
    projects = [value for labels, value in counts.items() if 'path="/api/v1/projects"' in labels and 'status_code="200"' in labels]
    assert projects and projects[0] >= 1
    assert not any("12345" in labels for labels in counts)
    assert any("/api/v1/staff/members/{member_id" in labels and 'status_code="401"' in labels for labels in counts)
    assert any(line.startswith("loyalty_request_duration_seconds_bucket{") for line in text.splitlines())


async def test_metrics_are_refused_to_a_caller_off_the_host(database, settings):
    app = create_app(settings, engine=database.engine)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://club.test") as http:
        response = await http.get("/metrics")
    assert response.status_code == 403


async def test_metrics_are_served_off_the_host_with_the_token(database, settings):
    app = create_app(settings.with_overrides(metrics_token="scrape-token-123"), engine=database.engine)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://club.test") as http:
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await http.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
    assert wrong.status_code == 403
    assert right.status_code == 200 and "loyalty_requests_total" in right.text


async def test_job_outcomes_are_counted_by_job(client, database):
    from loyalty import jobs

    def runs(text: str, outcome: str) -> float:
        return sum(value for labels, value in _series(text, "loyalty_job_runs_total").items()
                   if 'job="loyalty.care.dispatch_due"' in labels and f'outcome="{outcome}"' in labels)

    before = runs((await client.get("/metrics")).text, "ok")
    await jobs.enqueue("loyalty.care.dispatch_due")  # no broker here: runs in this process
    after = (await client.get("/metrics")).text
    assert runs(after, "ok") == before + 1
    assert 'loyalty_job_duration_seconds_count{job="loyalty.care.dispatch_due"}' in after


async def test_a_request_forwarded_by_a_proxy_on_the_host_is_not_taken_for_loopback(client):
    forwarded = await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert forwarded.status_code == 403
