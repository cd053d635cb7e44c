from alembic import context

from crosslead_common.migrations import run_env

run_env(context)
