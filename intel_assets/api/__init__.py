"""The read API: the pipeline's intelligence for apps, over HTTP (FastAPI, served by uvicorn).

`create_app(ApiConfig(...))` builds the application; `intel-assets api --port N` serves it.
"""

from intel_assets.api.app import create_app
from intel_assets.api.config import ApiConfig

__all__ = ["ApiConfig", "create_app"]
