"""The model card (README.md) written beside every exported checkpoint: one template for all models."""
from __future__ import annotations

import json

FASHION_SOURCE = ('"Fashion Product Images (Small)", Param Aggarwal, Kaggle; images from the Myntra catalog '
                  "(42,072 catalog photos, 60×80, white backgrounds, with product names and attributes).")
CLOTHING_SOURCE = "everyday clothing photos released under CC0 (public domain), see ../shared/data/README."


def data_source(folder: str) -> str:
    if "fashion-products" in folder:
        return FASHION_SOURCE
    if "clothing-photos" in folder:
        return CLOTHING_SOURCE
    return f"the folder `{folder}`"


def started_from(options: dict, how: str = "") -> dict[str, str]:
    """The card's "Started from" line for a run begun with --init-from (none otherwise); `how` adds
    what the run did with the started-from model."""
    if not options.get("init_from"):
        return {}
    return {"Started from": f"the exported model `{options['init_from']}` (`--init-from`){how}. The training line counts this run only."}


def model_card(*, title: str, tags: list[str], summary: str, load: str, details: dict[str, str],
               options: dict, training: dict, metrics: str) -> str:
    """`details` become the bullet list (architecture, data…); `training` is the Trainer's summary + command."""
    bullets = "\n".join(f"- **{k}**: {v}" for k, v in {
        **details,
        "Data": f"{data_source(options['data'])} Validation split: {options['val_fraction']:.0%} of files by a hash of their path.",
        "Licence": "the code is the project's (MIT); the weights derive from the data above — check its terms before commercial use.",
        "Training": f"{training['steps']} steps, batch {options['batch_size']}, {training['images_seen']:,} images seen, "
                    f"{training['minutes']} minutes on {options.get('hardware', 'this machine')}.",
    }.items())
    shown_options = {k: v for k, v in options.items() if k not in ("vocabulary", "command")}
    return f"""---
library_name: diffusers
license: other
tags: [{', '.join(tags + ['atelier'])}]
---
# {title}

{summary}
Load it with {load}.

{bullets}

## Reproduce
```
{training['command']}
```

## Metrics
{metrics}

## Options
```json
{json.dumps(shown_options, indent=2)}
```
"""
