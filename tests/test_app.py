"""The app as a user reaches it: launched as a server, called through gradio_client and a real browser."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, SHIPPED_GAN

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(*args, log: Path):
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), *args], cwd=ROOT, env=env,
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"app exited: {log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise AssertionError(f"app did not start: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    log = tmp_path_factory.mktemp("app") / "app.log"
    process, url = start_app(log=log)
    yield url
    process.terminate()
    process.wait(timeout=30)
    # Gradio logs its own range checks (user errors, answered with a message); anything else is a crash.
    crashes = [line for line in log.read_text().splitlines()
               if re.match(r"^[\w.]+(Error|Exception)\b", line) and not line.startswith("gradio.exceptions.Error")]
    assert not crashes, log.read_text()[-3000:]


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def pixels(result) -> list[np.ndarray]:
    return [np.asarray(Image.open(item["image"])) for item in result]


def test_generate_returns_count_images_with_metadata(client):
    result = client.predict(prompt="men's navy blue casual shirt", count=5, seed=11, api_name="/generate")
    assert len(result) == 5
    image = Image.open(result[0]["image"])
    assert image.format == "PNG" and image.size == (64, 64)
    assert image.info["prompt"] == "men's navy blue casual shirt" and image.info["seed"] == "11"
    assert image.info["model"] == SHIPPED_GAN.name


def test_generate_with_reranking_shows_match_scores(client):
    result = client.predict(prompt="Women Red Handbag", count=3, seed=2, rerank=True, api_name="/generate")
    scores = [float(item["caption"].split("match ")[1]) for item in result]
    assert len(result) == 3 and scores == sorted(scores, reverse=True)
    assert Image.open(result[0]["image"]).info["match_score"] == f"{scores[0]:.3f}"


def test_generate_can_return_the_images_upscaled(client):
    result = client.predict(prompt="white sports shoes", count=2, seed=4, upscale="fast", api_name="/generate")
    images = [Image.open(item["image"]) for item in result]
    assert [i.size for i in images] == [(256, 256)] * 2 and images[0].info["upscaled"] == "x4 fast"


def test_same_seed_same_pixels_other_seed_other_pixels(client):
    a = pixels(client.predict(prompt="Women Red Handbag", count=3, seed=7, api_name="/generate"))
    b = pixels(client.predict(prompt="Women Red Handbag", count=3, seed=7, api_name="/generate"))
    c = pixels(client.predict(prompt="Women Red Handbag", count=3, seed=8, api_name="/generate"))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("bad, message", [
    (dict(prompt="   ", count=2, seed=1), "description"),
    (dict(prompt="!!!! 123", count=2, seed=1), "in words"),
    (dict(prompt="white sports shoes", count=0, seed=1), "minimum"),
    (dict(prompt="white sports shoes", count=17, seed=1), "maximum"),
    (dict(prompt="white sports shoes", count=2.5, seed=1), "whole number"),
    (dict(prompt="white sports shoes", count=2, seed=1, variety=50.0), "maximum"),
    (dict(prompt="white sports shoes", count=2, seed=1, upscale="x8"), "upscale|choices"),
])
def test_bad_inputs_are_errors_and_server_keeps_answering(client, bad, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(**bad, api_name="/generate")
    assert len(client.predict(prompt="brown leather wallet", count=1, seed=0, api_name="/generate")) == 1


def test_long_and_non_english_prompts_work(client):
    assert len(client.predict(prompt="blue denim jeans " * 100, count=2, seed=0, api_name="/generate")) == 2
    assert len(client.predict(prompt="红色女士手提包", count=2, seed=0, api_name="/generate")) == 2


def test_missing_checkpoint_app_still_starts_and_explains(tmp_path):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    process, url = start_app("--gan", str(tmp_path / "no-such-model"), log=tmp_path / "app.log")
    try:
        page = urllib.request.urlopen(url + "config", timeout=10).read().decode()
        assert "No generator loaded" in page
        with pytest.raises(AppError, match="config.json missing"):
            Client(url, verbose=False).predict(prompt="red shirt", count=1, seed=0, api_name="/generate")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_sliders_api_start_edit_morph(client):
    import json

    first, edit = client.predict(model="gan-fashion64", seed=3, prompt="Women Red Handbag", api_name="/start")
    state = json.loads(edit)
    state["sliders"] = {"PC 1": 2.0, "baseColour=Blue": 1.0}
    moved, moved_edit = client.predict(model="gan-fashion64", edit=json.dumps(state), api_name="/edit")
    assert json.loads(moved_edit)["sliders"] == state["sliders"]
    assert np.abs(np.asarray(Image.open(first), dtype=int) - np.asarray(Image.open(moved), dtype=int)).mean() > 3
    frames, gif = client.predict(model="gan-fashion64", edit_a=edit, edit_b=moved_edit, frames=8, api_name="/morph")
    assert len(frames) == 8 and Image.open(gif).format == "GIF"
    last = np.asarray(Image.open(frames[-1]["image"]).convert("RGB"), dtype=int) - np.asarray(Image.open(moved).convert("RGB"), dtype=int)
    assert np.abs(last).max() <= 2  # the morph ends on B (decoded in a batch of 8: rounding may differ by a level)


def test_vae_encodes_an_uploaded_photo(client, tmp_path):
    from gradio_client import handle_file

    photo = tmp_path / "shirt.png"
    Image.new("RGB", (640, 480), (30, 60, 200)).save(photo)
    image, edit = client.predict(model="vae-fashion64", image=handle_file(str(photo)), api_name="/encode")
    assert Image.open(image).size == (256, 256)  # the 64-px product, enlarged for the screen
    assert json.loads(edit)["model"] == "vae-fashion64" and json.loads(edit)["start"]["image"].endswith(".png")
    _, kept = client.predict(model="vae-fashion64", image=handle_file(str(photo)), clean_background=False, api_name="/encode")
    assert json.loads(kept)["base"] != json.loads(edit)["base"]  # the blue frame stays: another latent


@pytest.mark.parametrize("case, message", [
    ("nan", "finite"), ("range", "between"), ("other_model", "made with model 'vae-fashion64'"), ("garbage", "valid JSON"),
    ("encode_text_file", "not a readable image"), ("encode_with_gan", "cannot encode"), ("unknown_model", "Value: nope is not in the list"),
])
def test_sliders_bad_inputs_are_errors(client, tmp_path, case, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    _, gan_edit = client.predict(model="gan-fashion64", seed=1, prompt="white sports shoes", api_name="/start")
    _, vae_edit = client.predict(model="vae-fashion64", seed=1, prompt="", api_name="/start")
    state = json.loads(gan_edit)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    calls = {
        "nan": dict(model="gan-fashion64", edit=json.dumps({**state, "sliders": {"PC 1": float("nan")}}), api_name="/edit"),
        "range": dict(model="gan-fashion64", edit=json.dumps({**state, "sliders": {"PC 1": 40}}), api_name="/edit"),
        "other_model": dict(model="gan-fashion64", edit=vae_edit, api_name="/edit"),
        "garbage": dict(model="gan-fashion64", edit="{oops", api_name="/edit"),
        "encode_text_file": dict(model="vae-fashion64", image=handle_file(str(text)), api_name="/encode"),
        "encode_with_gan": dict(model="gan-fashion64", image=handle_file(str(_small_png(tmp_path))), api_name="/encode"),
        "unknown_model": dict(model="nope", seed=1, prompt="x", api_name="/start"),
    }
    with pytest.raises(AppError, match=message):
        client.predict(**calls[case])
    assert client.predict(model="gan-fashion64", seed=2, prompt="red shirt", api_name="/start")[1].startswith("{")


def _small_png(folder: Path) -> Path:
    path = folder / "small.png"
    Image.new("RGB", (8, 8), "white").save(path)
    return path


def photo_file(folder: Path, size=(160, 120), name="photo.png") -> Path:
    y, x = np.mgrid[0:size[1], 0:size[0]]
    pixels = np.stack([100 + 50 * np.sin(x / 9), 120 + 40 * np.cos(y / 7), 90 + 0 * x], -1)
    pixels[size[1] // 4:3 * size[1] // 4, size[0] // 3:2 * size[0] // 3] = (200, 30, 30)
    path = folder / name
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("api_name, options, check", [
    ("/upscale", dict(scale=2, mode="fast"), lambda out: out.size == (320, 240)),
    ("/upscale", dict(scale=4, mode="quality"), lambda out: out.size == (640, 480)),
    ("/denoise", dict(strength=0), lambda out: out.size == (160, 120)),
    ("/auto_tone", dict(), lambda out: out.size == (160, 120)),
    ("/remove_background", dict(background="transparent"), lambda out: out.mode == "RGBA"),
    ("/remove_background", dict(background="white"), lambda out: out.mode == "RGB"),
])
def test_enhance_endpoints_return_pngs(client, tmp_path, api_name, options, check):
    from gradio_client import handle_file

    result = client.predict(image=handle_file(str(photo_file(tmp_path))), **options, api_name=api_name)
    out = Image.open(result)
    assert out.format == "PNG" and check(out)


def test_inpaint_endpoint_repairs_only_the_mask(client, tmp_path):
    from gradio_client import handle_file

    photo = photo_file(tmp_path)
    mask = np.zeros((60, 80), np.uint8)  # half the photo's size: resized to fit
    mask[20:30, 30:40] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    result = np.asarray(Image.open(client.predict(image=handle_file(str(photo)), mask=handle_file(str(tmp_path / "mask.png")), api_name="/inpaint")).convert("RGB"))
    original = np.asarray(Image.open(photo).convert("RGB"))
    outside = np.ones((120, 160), bool)
    outside[40:60, 60:80] = False
    assert result.shape == original.shape and np.array_equal(result[outside], original[outside])
    layer = Image.new("RGBA", (160, 120), (0, 0, 0, 0))  # a brush layer: magenta strokes on a transparent sheet
    layer.paste(Image.new("RGBA", (20, 20), (255, 0, 255, 255)), (60, 40))
    layer.save(tmp_path / "layer.png")
    result = np.asarray(Image.open(client.predict(image=handle_file(str(photo)), mask=handle_file(str(tmp_path / "layer.png")), api_name="/inpaint")).convert("RGB"))
    assert np.array_equal(result[outside], original[outside]) and not np.array_equal(result[~outside], original[~outside])


def _bad_files(folder: Path) -> dict:
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image at all")
    good = photo_file(folder)
    (folder / "truncated.png").write_bytes(good.read_bytes()[:200])
    Image.new("RGB", (1, 1), "red").save(folder / "tiny.png")
    Image.new("L", (160, 120), 0).save(folder / "black_mask.png")
    Image.new("L", (160, 120), 255).save(folder / "white_mask.png")
    Image.new("L", (8000, 6000), 200).save(folder / "bomb.png")   # 48 megapixels in a few kB: over the stated limit
    return {"good": good}


@pytest.mark.parametrize("case, message", [
    ("empty", "empty"), ("text", "not a readable image"), ("truncated", "damaged or truncated"),
    ("upscale_scale", "not in the list of choices|scale"), ("denoise_strength", "maximum|strength"),
    ("bomb", "megapixels"), ("black_mask", "mask is empty"), ("white_mask", "whole photo"), ("background_colour", "not in the list of choices|background"),
])
def test_enhance_bad_inputs_are_errors_and_server_keeps_answering(client, tmp_path, case, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    _bad_files(tmp_path)
    f = lambda name: handle_file(str(tmp_path / name))
    calls = {
        "empty": dict(image=f("empty.png"), api_name="/auto_tone"),
        "text": dict(image=f("text.png"), scale=2, mode="fast", api_name="/upscale"),
        "truncated": dict(image=f("truncated.png"), strength=0, api_name="/denoise"),
        "upscale_scale": dict(image=f("photo.png"), scale=3, mode="fast", api_name="/upscale"),
        "denoise_strength": dict(image=f("photo.png"), strength=500, api_name="/denoise"),
        "bomb": dict(image=f("bomb.png"), scale=2, mode="fast", api_name="/upscale"),
        "black_mask": dict(image=f("photo.png"), mask=f("black_mask.png"), api_name="/inpaint"),
        "white_mask": dict(image=f("photo.png"), mask=f("white_mask.png"), api_name="/inpaint"),
        "background_colour": dict(image=f("photo.png"), background="green", api_name="/remove_background"),
    }
    with pytest.raises(AppError, match=message):
        client.predict(**calls[case])
    assert Image.open(client.predict(image=f("tiny.png"), api_name="/auto_tone")).size == (1, 1)


def test_stylize_and_recolor_endpoints_return_pngs(client, tmp_path):
    from gradio_client import handle_file

    photo = handle_file(str(photo_file(tmp_path)))
    style = tmp_path / "style.png"
    Image.fromarray(np.tile(np.repeat(np.array([[20, 40, 200], [240, 220, 30]], np.uint8), 6, 0), (8, 48, 1)).reshape(96, 48, 3)).save(style)
    original = np.asarray(Image.open(photo_file(tmp_path)).convert("RGB"), np.float32)
    styled = np.asarray(Image.open(client.predict(content=photo, style=handle_file(str(style)), strength=1.0, preserve_color=False,
                                                  product_only=False, api_name="/stylize")).convert("RGB"), np.float32)
    assert styled.shape == original.shape and np.abs(styled - original).mean() > 5
    same = Image.open(client.predict(content=photo, style=handle_file(str(style)), strength=0.0, preserve_color=False,
                                     product_only=True, api_name="/stylize"))
    assert same.format == "PNG" and np.array_equal(np.asarray(same.convert("RGB")), original.astype(np.uint8))
    recoloured = Image.open(client.predict(image=photo, color="navy blue", api_name="/recolor"))
    assert recoloured.format == "PNG" and recoloured.size == (160, 120)


@pytest.mark.parametrize("case, message", [
    ("strength", "strength must be a number from 0 to 1|maximum"), ("colour", "unknown colour 'blurple'.*hex code"),
    ("not_an_image", "not a readable image"), ("no_style", "upload a style image|style"), ("tiny", "too small to restyle"),
])
def test_style_bad_inputs_are_errors_and_server_keeps_answering(client, tmp_path, case, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    _bad_files(tmp_path)
    f = lambda name: handle_file(str(tmp_path / name))
    calls = {
        "strength": dict(content=f("photo.png"), style=f("photo.png"), strength=1.5, preserve_color=False, product_only=False, api_name="/stylize"),
        "colour": dict(image=f("photo.png"), color="blurple", api_name="/recolor"),
        "not_an_image": dict(content=f("text.png"), style=f("photo.png"), strength=0.5, preserve_color=False, product_only=False, api_name="/stylize"),
        "no_style": dict(content=f("photo.png"), style=None, strength=0.5, preserve_color=False, product_only=False, api_name="/stylize"),
        "tiny": dict(content=f("tiny.png"), style=f("photo.png"), strength=0.5, preserve_color=False, product_only=False, api_name="/stylize"),
    }
    with pytest.raises(AppError, match=message):
        client.predict(**calls[case])
    assert Image.open(client.predict(image=f("photo.png"), color="#ff0000", api_name="/recolor")).size == (160, 120)


needs_browser = pytest.mark.skipif(not shutil.which("chromedriver"), reason="Debian chromium-driver is not installed (.ci/run installs it)")


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1100", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def screenshot(driver, name: str, tmp_path: Path) -> None:
    shots = Path(os.environ.get("ATELIER_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(shots / name))


def open_tab(driver, name: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    tab = WebDriverWait(driver, 60).until(lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "button[role=tab]") if b.text.strip() == name), False))
    tab.click()


def loaded_images(driver, selector: str):
    from selenium.webdriver.common.by import By

    images = driver.find_elements(By.CSS_SELECTOR, selector)
    return images if images and all(i.get_attribute("naturalWidth") not in (None, "0") for i in images) else False


def upload_in_tab(driver, url: str, tab: str, target: str, photo: Path, shown: str):
    """Open `tab`, upload `photo` into the `target` component and wait until it shows (`shown` inside it)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    open_tab(driver, tab)
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"{target} input[type=file]")).send_keys(str(photo))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"{target} {shown}"))
    return wait


@needs_browser
def test_browser_types_description_and_sees_images(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(app_url)
    wait = WebDriverWait(browser, 60)
    box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#prompt textarea")))
    box.send_keys("Women Red Handbag")
    browser.find_element(By.ID, "generate-button").click()
    wait.until(lambda d: loaded_images(d, "#gallery img"))
    screenshot(browser, "generate-tab.png", tmp_path)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#gallery img")) == 8  # the default count


@needs_browser
def test_browser_an_unfamiliar_description_is_drawn_with_a_note(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(app_url)
    wait = WebDriverWait(browser, 60)
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#prompt textarea"))).send_keys("a spaceship on mars")
    browser.find_element(By.ID, "generate-button").click()
    wait.until(lambda d: loaded_images(d, "#gallery img"))
    wait.until(lambda d: "nearest guess" in d.find_element(By.TAG_NAME, "body").text)
    screenshot(browser, "generate-unfamiliar.png", tmp_path)

    browser.get(app_url)  # the same in the Sliders tab, starting a GAN product from the description
    open_tab(browser, "Sliders")
    first = wait.until(lambda d: (d.find_elements(By.CSS_SELECTOR, "#slider-image img") or [False])[0] and
                       d.find_element(By.CSS_SELECTOR, "#slider-image img").get_attribute("src"))
    box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#slider-prompt textarea")))
    box.clear()
    box.send_keys("a spaceship on mars", Keys.ENTER)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#slider-image img").get_attribute("src") != first)
    wait.until(lambda d: "nearest guess" in d.find_element(By.TAG_NAME, "body").text)
    screenshot(browser, "sliders-unfamiliar.png", tmp_path)


@needs_browser
def test_browser_moves_a_slider_and_the_product_changes(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(app_url)
    open_tab(browser, "Sliders")
    wait = WebDriverWait(browser, 60)
    first = wait.until(lambda d: (d.find_elements(By.CSS_SELECTOR, "#slider-image img") or [False])[0] and
                       d.find_element(By.CSS_SELECTOR, "#slider-image img").get_attribute("src"))
    number = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#slider-0 input[type=number]"))
    number.send_keys(Keys.CONTROL, "a")
    number.send_keys("2.5", Keys.TAB)  # leaving the box releases the slider
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#slider-image img").get_attribute("src") != first)
    next(b for b in browser.find_elements(By.CSS_SELECTOR, "button") if "Save or share this edit" in b.text).click()
    edit = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#edit-json textarea").get_attribute("value"))
    screenshot(browser, "sliders-tab.png", tmp_path)
    assert '"sliders": {"' in edit and "2.5" in edit


@needs_browser
def test_browser_a_photo_uploaded_beside_the_gan_opens_in_the_vae(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chosen = lambda d: d.find_element(By.CSS_SELECTOR, "#slider-model input").get_attribute("value")
    browser.get(app_url)
    open_tab(browser, "Sliders")
    assert WebDriverWait(browser, 60).until(chosen) == "gan-fashion64"  # the tab opens on the description's product
    wait = upload_in_tab(browser, app_url, "Sliders", "#slider-photo", photo_file(tmp_path, (200, 150)), "img")
    wait.until(lambda d: chosen(d) == "vae-fashion64")
    next(b for b in browser.find_elements(By.CSS_SELECTOR, "button") if "Save or share this edit" in b.text).click()
    edit = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#edit-json textarea").get_attribute("value"))
    screenshot(browser, "sliders-photo.png", tmp_path)
    assert json.loads(edit)["model"] == "vae-fashion64" and json.loads(edit)["start"]["image"].endswith(".png")


@needs_browser
def test_browser_enhances_an_uploaded_photo(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = upload_in_tab(browser, app_url, "Enhance", "#enhance-editor", photo_file(tmp_path, (200, 150)), "canvas")
    # the editor's canvas is there before any upload; its "Upload an image" prompt goes once the photo is in
    # (clicking earlier, on a slow machine, sent an empty editor)
    wait.until(lambda d: "Upload an image" not in d.find_element(By.ID, "enhance-editor").text)
    browser.find_element(By.ID, "enhance-button").click()
    WebDriverWait(browser, 180).until(lambda d: loaded_images(d, "#enhance-comparison img"))
    screenshot(browser, "enhance-tab.png", tmp_path)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#enhance-comparison img")) == 2


@needs_browser
def test_browser_stylizes_a_product_with_an_example_style(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = upload_in_tab(browser, app_url, "Style", "#style-content", photo_file(tmp_path, (200, 150)), "img")
    wait.until(lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "button")
                               if "stripes.png" in (b.get_attribute("innerHTML") or "") and b.is_displayed()), False)).click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#style-style img"))
    browser.find_element(By.ID, "stylize-button").click()
    WebDriverWait(browser, 180).until(lambda d: loaded_images(d, "#style-results img"))
    screenshot(browser, "style-tab.png", tmp_path)
    assert loaded_images(browser, "#style-results img")
