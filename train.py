"""Train Atelier's models on your own image folders.

    python train.py gan --data ../shared/data/fashion-products --out runs/gan --max-minutes 100
    python train.py vae --data ../shared/data/fashion-products --out runs/vae --max-minutes 60
    python train.py match --data ../shared/data/fashion-products --out runs/match --max-minutes 10
    python train.py sr|denoise|inpaint --data ../shared/data/clothing-photos/train --out runs/sr --max-minutes 25
    python train.py tone --data ../shared/data/clothing-photos/train --out runs/tone --max-minutes 8
    python train.py segment --data ../shared/data/fashion-products --backgrounds ../shared/data/clothing-photos/train --out runs/seg
    python train.py style --data ../shared/data/clothing-photos/train --styles ../shared/data/fashion-products --out runs/style
    python train.py gan --data DIR --out runs/x --dry-run          # check the folder, train nothing
    python train.py gan --data DIR --out runs/x --resume           # continue a killed run exactly
    accelerate launch --num_processes 2 train.py gan --data DIR --out runs/x   # several processes/GPUs

The run folder holds options.json, metrics.jsonl, samples/*.png, state.safetensors (resume) and
export/ (the shipped format: config.json + fp16 safetensors + model card), which the app loads.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

DEFAULT_TEMPLATE = "{gender} {baseColour} {articleType}"


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="image folder (metadata.csv/jsonl, .txt captions, class subfolders or flat)")
    parser.add_argument("--out", required=True, help="run folder (created; reused with --resume)")
    parser.add_argument("--caption-column", default="text", help="caption column of metadata.csv/jsonl")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--fit", choices=["pad", "crop"], default="pad",
                        help="make images square by padding with white (catalog products) or centre-cropping (photos)")
    parser.add_argument("--val-fraction", type=float, default=0.05, help="held out by a hash of the file path")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--batch-size", type=int, default=64, help="per process")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (default: only the time budget, or until stopped)")
    parser.add_argument("--max-minutes", type=float, default=None, help="training-time budget, summed over resumes")
    parser.add_argument("--lr-decay", type=float, default=0.0, metavar="FRACTION",
                        help="over the last FRACTION of the budget (--max-minutes or --max-steps) the learning rates fall linearly to 0; "
                             "0 keeps them constant (0.5 did not help the GAN's 30-minute race: README)")
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--sample-every", type=int, default=500)
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mixed-precision", default="auto", choices=["auto", "no", "fp16", "bf16"])
    parser.add_argument("--resume", action="store_true", help="continue from OUT/state.safetensors")
    parser.add_argument("--dry-run", action="store_true", help="validate the folder and print a summary, then exit")
    parser.add_argument("--export", default=None, help="also write the shipped model here (default OUT/export)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="model", required=True)
    gan = sub.add_parser("gan", help="text-conditional GAN (or the DCGAN baseline)")
    add_common(gan)
    gan.add_argument("--arch", default="sngan", choices=["sngan", "dcgan"])
    gan.add_argument("--channels", type=int, nargs="+", default=None, metavar="C",
                     help="sngan generator widths from 4×4 up, one per doubling (default 512 256 128 64 at 64 px); the "
                          "discriminator mirrors them. Half width (256 128 64 32) trains more images per minute and did better in a "
                          "30-minute run; quarter width did worse (README)")
    gan.add_argument("--upsample", default="transposed", choices=["transposed", "nearest"],
                     help="sngan generator upsampling: 4×4 transposed convs, or nearest-neighbour + 3×3 conv (no checkerboard)")
    gan.add_argument("--lr-g", type=float, default=2e-4)
    gan.add_argument("--lr-d", type=float, default=2e-4)
    gan.add_argument("--betas", type=float, nargs=2, default=[0.5, 0.999], help="Adam betas")
    gan.add_argument("--d-batch-norm", action=argparse.BooleanOptionalAction, default=True,
                     help="BatchNorm in the sngan discriminator (real and fake batches apart, as in DCGAN: it keeps G from collapsing)")
    gan.add_argument("--ema", type=float, default=0.999,
                     help="EMA decay of the sampling generator (sngan); a new run warms up with decay (1+t)/(10+t) "
                          "until that exceeds it (step 8,990 for 0.999), so a short run never reaches it: README")
    gan.add_argument("--standing-stats", type=int, default=0, metavar="BATCHES",
                     help="at export, recompute the generator's BatchNorm statistics for its averaged weights over this many "
                          "batches of training captions (BigGAN's standing statistics; in README's short-budget command); 0 keeps the live generator's")
    gan.add_argument("--augment", default=None,
                     help="DiffAugment policy; default: none for dcgan, for sngan translation,color,cutout under "
                          "10k images (small data needs it) and translation alone above (colour jitter would blur colour conditioning)")
    gan.add_argument("--ada-target", type=float, default=0.0, metavar="R",
                     help="adaptive augmentation (ADA): apply the --augment policy to each image with a probability that rises "
                          "while the mean sign of D's scores on real images is above R (the paper's 0.6) and falls below it; "
                          "0 applies it always")
    gan.add_argument("--caption-template", default=DEFAULT_TEMPLATE,
                     help="caption built from metadata columns, used instead of the real one with --template-probability")
    gan.add_argument("--template-probability", type=float, default=0.25)
    gan.add_argument("--mode-seeking", type=float, default=0.0,
                     help="weight of the mode-seeking term (MSGAN): two seeds of one caption must give different images")
    gan.add_argument("--layout-l1", type=float, default=0.0, metavar="WEIGHT",
                     help="weight of an L1 term between each generated image and the real image of its caption, both "
                          "average-pooled to 16×16: teaches the coarse layout and colour from the first steps (conditional sngan; README)")
    gan.add_argument("--mirror", action="store_true",
                     help="show the discriminator each real image mirrored left-right with probability 1/2 (StyleGAN's --mirror; "
                          "in README's short-budget command since session 60: FD 46.35 over five runs against 48.55 without, untruncated)")
    gan.add_argument("--mismatch", type=float, default=0.0, metavar="WEIGHT",
                     help="matching-aware discriminator (GAN-CLS): real images under another item's text count as fake, at this "
                          "weight (conditional sngan; in README's short-budget command at 0.5)")
    gan.add_argument("--classify", nargs="*", default=None, metavar="COLUMN",
                     help="metadata columns (e.g. articleType baseColour) that discriminator heads learn on real images "
                          "and the generator must match for its prompt's item (AC-GAN)")
    gan.add_argument("--classify-weight", type=float, default=0.5, help="weight of the --classify cross-entropy terms")
    gan.add_argument("--init-from", default=None, metavar="FOLDER",
                     help="start from an exported generator (e.g. checkpoints/gan-fashion64) to fine-tune it, and from the discriminator "
                          "exported beside it when it fits (else D starts new: give it --d-warmup-steps)")
    gan.add_argument("--d-warmup-steps", type=int, default=0,
                     help="train only the discriminator for the first N steps (with --init-from: let a new D catch up with a trained G)")
    gan.add_argument("--sample-prompts", nargs="*", default=None, help="prompts of the sample grid (default: 8 captions from the data)")

    vae = sub.add_parser("vae", help="VAE with a compact latent for the sliders")
    add_common(vae)
    vae.add_argument("--latent-dim", type=int, default=128)
    vae.add_argument("--lr", type=float, default=5e-4)
    vae.add_argument("--kl-weight", type=float, default=5e-6, help="per nat of KL (see vae/training.py)")
    vae.add_argument("--perceptual-weight", type=float, default=0.05, help="EfficientNet-Lite0 feature distance; 0 turns it off")
    vae.add_argument("--classify", nargs="*", default=None, metavar="COLUMN",
                     help="metadata columns (e.g. articleType baseColour) a linear head must read from the latent, "
                          "so each value lies along a line there (what the named sliders move along)")
    vae.add_argument("--classify-weight", type=float, default=0.01, help="weight of the --classify cross-entropy (the MSE is ≈ 0.02)")

    match = sub.add_parser("match", help="text–image matching heads on the frozen MiniLM and EfficientNet-Lite0 towers")
    add_common(match)
    match.set_defaults(batch_size=512, checkpoint_every=200, sample_every=200)
    match.add_argument("--image-size", type=int, default=96, help="EfficientNet input size for the image features")
    match.add_argument("--lr", type=float, default=1e-3)
    match.add_argument("--feature-dropout", type=float, default=0.1)

    photos = dict(resolution=256, fit="crop", batch_size=16, checkpoint_every=200, sample_every=200)
    for name, help_text, defaults in (
        ("sr", "super-resolution ×2/×4 on photo crops", dict(crop=96, lr=5e-4, perceptual_weight=0.01)),
        ("denoise", "blind denoiser on photo crops", dict(crop=64, lr=5e-4, perceptual_weight=0.0)),
        ("inpaint", "inpainting with free-form masks on photo crops", dict(crop=128, lr=5e-4, perceptual_weight=0.0, batch_size=8)),
        ("segment", "product/background segmentation from catalog images on varied backgrounds",
         dict(crop=128, lr=1e-3, perceptual_weight=0.0, resolution=128, fit="pad")),
        ("tone", "auto-tone estimator (exposure and colour cast) on whole photos", dict(crop=128, lr=1e-3, perceptual_weight=0.0,
                                                                                         resolution=128, batch_size=64)),
    ):
        enhance = sub.add_parser(name, help=help_text)
        add_common(enhance)
        enhance.set_defaults(**{**photos, **defaults})
        enhance.add_argument("--crop", type=int, help="training crop size in pixels")
        enhance.add_argument("--lr", type=float)
        enhance.add_argument("--perceptual-weight", type=float, help="EfficientNet-Lite0 feature distance; 0 turns it off")
        enhance.add_argument("--init-from", default=None, metavar="FOLDER", help=f"start from an exported {name} model (e.g. a shipped one) to fine-tune it")
        enhance.add_argument("--export-blend", type=float, default=1.0, metavar="T",
                             help="with --init-from: export T·fine-tuned + (1−T)·started-from weights (WiSE-FT), "
                                  "which keeps more of what the started-from model did well; 1 exports the fine-tuned weights")
        if name == "sr":
            enhance.add_argument("--realistic-fraction", type=float, default=0.3,
                                 help="share of batches degraded with blur/noise/JPEG instead of plain bicubic")
        if name == "inpaint":
            enhance.add_argument("--hole-loss", default="l1", choices=["l1", "l2"],
                                 help="distance inside the hole: l1 (sharper) or l2 (the mean fill, what PSNR rewards)")
        if name == "segment":
            enhance.add_argument("--backgrounds", required=True, help="folder of photos whose crops become backgrounds")
            enhance.add_argument("--print-fraction", type=float, default=0.3, help="share of products given a procedural print")
            enhance.add_argument("--soften-fraction", type=float, default=0.5,
                                 help="share of photo backgrounds made as soft as the catalog products (see enhance.degrade.backgrounds)")
            enhance.add_argument("--photo-fraction", type=float, default=0.0,
                                 help="share of each batch taken from the --backgrounds photos themselves, with GrabCut's masks (enhance.degrade.photo_mask)")
    style = sub.add_parser("style", help="fast (AdaIN) style-transfer decoder on the frozen EfficientNet-Lite0")
    add_common(style)
    style.set_defaults(resolution=256, fit="crop", batch_size=8, checkpoint_every=200, sample_every=200)
    style.add_argument("--styles", required=True, help="folder of products or patterns: zoomed-in styles and extra content")
    style.add_argument("--style-limit", type=int, default=10_000, help="read at most this many images of --styles")
    style.add_argument("--crop", type=int, default=128, help="training crop size in pixels")
    style.add_argument("--lr", type=float, default=1e-4)
    style.add_argument("--style-weight", type=float, default=5.0)
    style.add_argument("--colour-weight", type=float, default=20.0, help="RGB mean/deviation of the output against the style's")
    style.add_argument("--identity-weight", type=float, default=5.0, help="L1 of the strength-0 reconstruction")
    style.add_argument("--texture-fraction", type=float, default=0.4, help="share of procedural textures among styles")
    style.add_argument("--product-fraction", type=float, default=0.25, help="share of --styles products among contents")
    return parser


def dry_run(args) -> int:
    from core.data import DatasetError, ImageTextDataset, scan_folder

    try:
        scan = scan_folder(args.data, args.caption_column)
        summary = scan.summary()
        train = ImageTextDataset(args.data, args.resolution, "train", args.val_fraction, args.caption_column, limit=args.limit, fit=args.fit)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary.update({
        "decoded_train": len(train),
        "unreadable": len(train.skipped) - len(scan.skipped),
        "skipped_examples": [f"{f}: {r}" for f, r in train.skipped[:10]],
        "vocabulary": {k: v[:10] for k, v in train.vocabulary().items()},
    })
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def task_class(model: str):
    if model == "gan":
        from gan.training import GANTask
        return GANTask
    if model == "vae":
        from vae.training import VAETask
        return VAETask
    if model == "match":
        from match.training import MatchTask
        return MatchTask
    if model == "style":
        from style.training import StyleTask
        return StyleTask
    from enhance.training import TASKS
    return TASKS[model]


def train(args) -> int:
    """Shared by every model: accelerator, data, options (checked on resume), task, Trainer."""
    import torch

    from core.checkpoints import CheckpointError
    from core.data import DatasetError, ImageTextDataset
    from core.devices import make_accelerator, precision_name
    from core.training import Trainer, save_options

    # the GAN's --classify heads see only real batches, so DDP must expect parameters without a gradient
    accelerator = make_accelerator(args.mixed_precision, find_unused_parameters=args.model == "gan" and bool(args.classify))
    if "MASTER_PORT" in os.environ and accelerator.num_processes == 1 and "LOCAL_RANK" not in os.environ:
        print("note: `accelerate launch` started a single process; on a machine without CUDA add --multi_gpu "
              "(or use torchrun) to train with several processes", file=sys.stderr)
    torch.set_num_threads(max(1, torch.get_num_threads() // accelerator.num_processes))
    run_dir = Path(args.out)
    state_exists = (run_dir / "state.safetensors").is_file()
    if state_exists and not args.resume:
        print(f"error: {run_dir} already holds a run; add --resume to continue it or choose another --out", file=sys.stderr)
        return 2
    try:
        data = ImageTextDataset(args.data, args.resolution, "train", args.val_fraction, args.caption_column,
                                limit=args.limit, progress=accelerator.is_main_process, fit=args.fit)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.model == "gan" and args.augment is None:
        args.augment = "" if args.arch == "dcgan" else "translation,color,cutout" if len(data) < 10_000 else "translation"
    options = {k: v for k, v in vars(args).items() if k not in ("resume", "dry_run")}
    options["command"] = "python train.py " + " ".join(shlex.quote(a) for a in sys.argv[1:] if a != "--resume")
    options["vocabulary"] = data.vocabulary()
    options["hardware"] = f"{accelerator.num_processes}× {accelerator.device.type}, {precision_name(accelerator.mixed_precision)}"
    try:
        if accelerator.is_main_process:
            save_options(run_dir, options, args.resume)
        task = task_class(args.model)(options, data, accelerator)
        trainer = Trainer(task, run_dir, accelerator, max_steps=args.max_steps, max_minutes=args.max_minutes,
                          checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
                          log_every=args.log_every, export_dir=args.export, lr_decay=args.lr_decay)
        if args.resume and trainer.resume():
            if accelerator.is_main_process:
                print(f"resumed {run_dir} at step {trainer.step} ({trainer.elapsed / 60:.1f} min trained)")
        elif getattr(args, "init_from", None):
            loaded = task.initialise_from(args.init_from)
            if accelerator.is_main_process:
                print(f"--init-from {args.init_from}: {loaded}")
    except (CheckpointError, ValueError) as e:  # ValueError: options the task cannot use with this data
        print(f"error: {e}", file=sys.stderr)
        return 2
    if accelerator.is_main_process:
        print(f"{len(data)} training images ({data.layout}), {len(data.skipped)} skipped; "
              f"{args.model} on {accelerator.device} × {accelerator.num_processes}")
    summary = trainer.fit()
    if accelerator.is_main_process:
        print(json.dumps({"run": str(run_dir), "export": str(trainer.export_dir), **summary}))
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.dry_run:
        return dry_run(args)
    return train(args)


if __name__ == "__main__":
    sys.exit(main())
