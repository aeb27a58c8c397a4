from quart import Quart


async def test_asgi_module_serves_the_app() -> None:
    from {{ cookiecutter.project_slug }}.asgi import app

    assert isinstance(app, Quart)
    response = await app.test_client().get("/")
    assert response.status_code == 200
