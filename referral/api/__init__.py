"""REST API v1: flask-smorest, bearer tokens only, one error shape."""

from flask import Flask
from flask_smorest import Api

from ..directory.api import blp as agencies_blp
from .auth import protect

api = Api()

API_BLUEPRINTS = (agencies_blp,)


def register_api(app: Flask) -> None:
    """Bind the API, its blueprints and bearer-token protection to the app."""
    api.init_app(app)
    for blueprint in API_BLUEPRINTS:
        protect(blueprint)
        api.register_blueprint(blueprint, url_prefix="/api/v1" + blueprint.url_prefix)
