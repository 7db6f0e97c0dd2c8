"""Flask extensions, created unbound and initialised by the app factory."""
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from engine.db import Base

# One metadata for engine and business tables; objects stay usable after a
# step commits (the engine commits once per step, views keep reading).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
