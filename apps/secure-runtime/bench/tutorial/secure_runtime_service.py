"""The platform tutorial's own Secure Runtime ("Getting your own models on Apheris"), written from its prose and
snippets (with the snippets' slips fixed: `optimizer_name` throughout, `int(x)`): pydantic `parse`, a no-op
`validate`, and a `template` that loads JSON templates and sets the payload's values in them. `pnpm bench` renders
the same payload through it and through fedkit, in the same run, to compare the two.
"""

import json
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, PositiveFloat, PositiveInt


class MyModelPayload(BaseModel):
    # Only allow the specific parameters below - error if additional are provided
    model_config = ConfigDict(extra="forbid")

    optimizer_name: Literal["adam", "sgd"]
    learning_rate: PositiveFloat = 0.01
    num_federation_rounds: PositiveInt = 10


def parse(body: str) -> dict:
    try:
        payload = json.loads(body)
        return MyModelPayload(**payload).model_dump()
    except json.JSONDecodeError:
        raise ValueError("Could not parse the request body as JSON")


def validate(payload: dict) -> None:
    # Validation is already covered by `parse`.
    pass


def template(payload: dict, _dataset2gw: Optional[dict] = None, *, template_folder: Optional[Path] = None) -> dict:
    if template_folder is None:
        template_folder = Path(__file__).parent / "templates"

    num_clients = len(set(_dataset2gw.values())) if _dataset2gw else 1

    return {
        "app/config/config_fed_server.json": build_orchestrator_config(payload, num_clients, template_folder),
        "app/config/config_fed_client.json": build_gateway_config(payload, template_folder),
        "meta.json": build_meta_config(num_clients, template_folder),
    }


def build_orchestrator_config(payload: dict, num_clients: int, template_folder: Path) -> dict:
    with open(template_folder / "config_fed_server.json") as fh:
        config_tpl = json.load(fh)
    args = config_tpl["workflows"][1]["args"]
    args["min_clients"] = num_clients
    args["num_rounds"] = payload.get("num_federation_rounds")
    return config_tpl


def build_gateway_config(payload: dict, template_folder: Path) -> dict:
    with open(template_folder / "config_fed_client.json") as fh:
        config_tpl = json.load(fh)
    args = config_tpl["executors"][0]["executor"]["args"]
    args["optimizer"] = payload.get("optimizer_name")
    args["learning_rate"] = payload.get("learning_rate")
    return config_tpl


def build_meta_config(num_clients: int, template_folder: Path) -> dict:
    with open(template_folder / "meta.json") as fh:
        config_tpl = json.load(fh)
    config_tpl["min_clients"] = num_clients
    return config_tpl
