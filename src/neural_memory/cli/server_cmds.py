"""``nmem serve | mcp | keys | config``: servers, API keys and settings.

``keys`` is a client of the HTTP server's key endpoints (``POST /keys``, ``GET /keys``,
``DELETE /keys/{id}``), authenticated with the admin key from ``NEURAL_MEMORY_API_KEY``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from neural_memory.cli.base import BrainOption, DbOption, JsonOption, app, emit, reported, settings
from neural_memory.cli.config import KEYS, Settings, read_config, write_config
from neural_memory.engine._default_embedder import embeddings_switch
from neural_memory.errors import ConfigError, NeuralMemoryError, StorageUnavailableError

__all__ = ["config_app", "keys_app"]

_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command(context_settings=_PASS_THROUGH)
def serve(ctx: typer.Context, db: DbOption = None) -> None:
    """Run the HTTP server (neural-memory-server); other options are passed on to it."""
    from neural_memory.server import main as server_main  # noqa: PLC0415 - optional extra

    config = settings(db, None)
    raise typer.Exit(server_main(["--db", config.db, *ctx.args]))


@app.command(context_settings=_PASS_THROUGH)
def mcp(ctx: typer.Context, db: DbOption = None, brain: BrainOption = None) -> None:
    """Run the MCP server (neural-memory-mcp): --transport stdio|http, --port, --tier."""
    from neural_memory.mcp import main as mcp_main  # noqa: PLC0415 - optional extra

    config = settings(db, brain)
    raise typer.Exit(mcp_main(["--db", config.db, "--brain", config.brain, *ctx.args]))


# -- keys ------------------------------------------------------------------------------------

keys_app = typer.Typer(
    help="API keys of the HTTP server (needs the admin key).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The server (env NEURAL_MEMORY_URL, config `server_url`)."),
]


def _request(config: Settings, url: str | None, method: str, path: str, body: Any = None) -> Any:
    """One authenticated request to the server's key endpoints; its JSON answer."""
    try:
        import httpx  # noqa: PLC0415 - part of the server extra
    except ImportError:
        hint = "pip install 'neural-memory-brain[server]'"
        raise ConfigError(f"`nmem keys` needs httpx: {hint}") from None

    if not config.api_key:
        raise ConfigError("set NEURAL_MEMORY_API_KEY to the server's admin key")
    base = (url or config.server_url).rstrip("/")
    try:
        response = httpx.request(
            method,
            f"{base}{path}",
            json=body,
            headers={"Authorization": f"Bearer {config.api_key}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise StorageUnavailableError(f"cannot reach the server at {base}: {exc}") from exc
    if response.status_code >= 400:
        raise NeuralMemoryError(f"the server refused ({response.status_code}): {response.text}")
    return response.json() if response.content else None


@keys_app.command("create")
def keys_create(
    brain_ids: Annotated[
        list[str], typer.Option("--brain-id", help="A brain the key may use (repeatable).")
    ],
    access: Annotated[str, typer.Option(help="read, write or admin.")] = "read",
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key for some brains; the key is shown once."""
    with reported():
        if access not in {"read", "write", "admin"}:
            raise ConfigError(f"--access must be read, write or admin, got {access!r}")
        created = _request(
            settings(), url, "POST", "/keys", {"brains": brain_ids, "access": access}
        )
    emit(
        created,
        as_json=as_json,
        human=lambda c: c.print(Text(f"key {created['id']}: {created['key']} (shown once)")),
    )


@keys_app.command("list")
def keys_list(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The server's API keys (ids, brains and access; never the keys themselves)."""
    with reported():
        found = _request(settings(), url, "GET", "/keys")
    keys = found.get("keys", found) if isinstance(found, dict) else found

    def human(console: Console) -> None:
        table = Table("id", "brains", "access")
        for key in keys:
            table.add_row(
                Text(str(key.get("id"))),
                Text(", ".join(key.get("brains", []))),
                Text(str(key.get("access"))),
            )
        console.print(table)

    emit({"keys": keys}, as_json=as_json, human=human)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke an API key: it stops working at once."""
    with reported():
        _request(settings(), url, "DELETE", f"/keys/{key_id}")
    emit(
        {"revoked": key_id},
        as_json=as_json,
        human=lambda c: c.print(Text(f"Revoked key {key_id}.")),
    )


# -- config ----------------------------------------------------------------------------------

config_app = typer.Typer(help="Show or change the settings (config file).")
app.add_typer(config_app, name="config")


@config_app.callback(invoke_without_command=True)
def config_show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the settings in effect and where each comes from."""
    if ctx.invoked_subcommand is not None:
        return
    config = settings()
    document = {
        "config_file": str(config.config_file),
        "db": config.db,
        "brain": config.brain,
        "server_url": config.server_url,
        "embeddings": "on" if config.embeddings else "off",
        "api_key": "set" if config.api_key else "not set",
        "sources": dict(config.sources),
    }

    def human(console: Console) -> None:
        table = Table("setting", "value", "from", title=Text(str(config.config_file)))
        for key in KEYS:
            table.add_row(key, Text(str(document[key])), Text(config.sources[key]))
        table.add_row("api_key", Text(str(document["api_key"])), "env NEURAL_MEMORY_API_KEY")
        console.print(table)

    emit(document, as_json=as_json, human=human)


@config_app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(help=f"One of: {', '.join(KEYS)}.")],
    value: Annotated[str, typer.Argument(help="Its value.")],
    as_json: JsonOption = False,
) -> None:
    """Store a setting in the config file."""
    config = settings()
    with reported():
        if key not in KEYS:
            raise ConfigError(f"unknown setting {key!r}; one of: {', '.join(KEYS)}")
        if not value.strip():
            raise ConfigError("the value must not be empty")
        if key == "embeddings":
            embeddings_switch(value)  # refuses anything but on / off
        write_config(config.config_file, {**read_config(config.config_file), key: value})
    emit(
        {key: value, "config_file": str(config.config_file)},
        as_json=as_json,
        human=lambda c: c.print(Text(f"{key} = {value!r} in {config.config_file}")),
    )


@config_app.command("unset")
def config_unset(
    key: Annotated[str, typer.Argument(help=f"One of: {', '.join(KEYS)}.")],
    as_json: JsonOption = False,
) -> None:
    """Remove a setting from the config file (its default applies again)."""
    config = settings()
    with reported():
        values = read_config(config.config_file)
        values.pop(key, None)
        write_config(config.config_file, values)
    emit(
        {"unset": key},
        as_json=as_json,
        human=lambda c: c.print(Text(f"{key} removed from {config.config_file}")),
    )
