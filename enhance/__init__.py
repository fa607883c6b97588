"""Enhancement studio for shop photos: upscale, denoise, repair, auto tone, clean background.

    from enhance.upscale import upscale            # upscale(photo, scale=4, mode="fast"|"quality")
    from enhance.denoise import denoise            # denoise(photo, strength=0 → automatic)
    from enhance.inpaint import inpaint            # inpaint(photo, mask, method="learned"|"opencv")
    from enhance.tone import auto_tone             # auto_tone(photo, exposure=…, contrast=…, …)
    from enhance.background import remove_background   # remove_background(photo, "white"|"transparent")

or from the shell: `python -m enhance upscale photo.jpg out.png --scale 4` (see `python -m enhance -h`).
"""


class EnhanceError(ValueError):
    """A request an enhancement cannot serve (bad scale, too large, empty mask…); the message is for the user."""
