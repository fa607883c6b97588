"""Model card (README.md) written beside every exported GAN checkpoint."""
from __future__ import annotations

import json

FASHION_SOURCE = ('"Fashion Product Images (Small)", Param Aggarwal, Kaggle; images from the Myntra catalog '
                  "(42,072 catalog photos, 60×80, white backgrounds, with product names and attributes).")


def model_card(info: dict, options: dict) -> str:
    data = options["data"]
    source = FASHION_SOURCE if "fashion-products" in data else f"the folder `{data}`"
    t = info["training"]
    kind = "Text-conditional" if info["conditional"] else "Unconditional"
    return f"""---
library_name: diffusers
license: other
tags: [gan, text-to-image, atelier]
---
# {kind} product GAN, {info['resolution']}×{info['resolution']} ({info['arch']})

Generator of the Atelier product-image studio, exported from `train.py gan`.
Load it with `gan.generate.TextToProduct.from_pretrained(folder)` or
`gan.model.{'ConditionalGenerator' if info['arch'] == 'sngan' else 'DCGANGenerator'}.from_pretrained(folder)`.

- **Architecture**: {'noise (128) + projected MiniLM text embedding → transposed-conv generator with conditional BatchNorm; projection discriminator (spectral norm, BatchNorm, minibatch stddev), hinge loss, Adam ' + str(options['lr_g']) + '/' + str(options['lr_d']) + ' betas ' + str(tuple(options['betas'])) + ', EMA generator, DiffAugment (' + (options['augment'] or 'none') + ')' if info['arch'] == 'sngan' else 'DCGAN (Radford et al. 2015), unconditional, BCE loss'}.
- **Text encoder**: {info['text_encoder'] or 'none'}.
- **Data**: {source} Validation split: {options['val_fraction']:.0%} of files by a hash of their path.
- **Licence**: the code is the project's; the weights derive from the data above — check its terms before commercial use.
- **Training**: {t['steps']} steps, batch {options['batch_size']}, {t['images_seen']:,} images seen, {t['minutes']} minutes on {options.get('hardware', 'this machine')}.

## Reproduce
```
{t['command']}
```

## Metrics
Run `python bench/generation.py` (protocol in that file); the numbers measured for this checkpoint
are in `metrics.json` beside this card when present.

## Options
```json
{json.dumps({k: v for k, v in options.items() if k not in ('vocabulary', 'command')}, indent=2)}
```
"""
