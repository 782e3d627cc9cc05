"""Every table of the service in one ``MetaData``: for whatever needs the whole schema at once (the Alembic
environment when it autogenerates a revision, the schema tests).

It lives above the features rather than in ``db``: each feature's models import ``db.base`` for the declarative
base, so ``db`` importing them back would tie the bottom layer to every feature above it.
"""

from __future__ import annotations

from sqlalchemy import MetaData

# Importing a feature's models is what puts its tables into Base.metadata.
from hokusai_auth.audit import models as _audit  # noqa: F401
from hokusai_auth.db.base import Base
from hokusai_auth.device import models as _device  # noqa: F401
from hokusai_auth.keys import models as _keys  # noqa: F401
from hokusai_auth.mail import models as _mail  # noqa: F401
from hokusai_auth.organizations import models as _organizations  # noqa: F401
from hokusai_auth.registrations import models as _registrations  # noqa: F401
from hokusai_auth.sessions import models as _sessions  # noqa: F401
from hokusai_auth.signing import models as _signing  # noqa: F401
from hokusai_auth.siwe import models as _siwe  # noqa: F401
from hokusai_auth.usage import models as _usage  # noqa: F401
from hokusai_auth.users import models as _users  # noqa: F401

metadata: MetaData = Base.metadata
