async def test_health_reports_the_database_engine(client, database):
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": database.kind, "version": "0.1.0"}
