from quart.typing import TestClientProtocol as Client


async def test_home_returns_an_empty_json_object(client: Client) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert await response.get_json() == {}
