"""Regenerates the image-I/O fixtures of magvit4j's ImagesTest from the reference libraries.

Run from this folder with Debian 12's Python (the versions the committed files were made with):

    apt-get install -y python3-torchvision python3-skimage
    /usr/bin/python3 make_fixtures.py

Versions: Python 3.11, Pillow 9.4.0, numpy 1.24.2, torch 1.13.0a0, torchvision 0.14.1a0,
scikit-image 0.19.3 (Debian bookworm packages).

Everything is deterministic (numpy seed 0). Each expected output is produced by the same library
calls Open-MAGVIT2 makes (TencentARC/Open-MAGVIT2, commit 21e1f93):
  * loading: src/Open_MAGVIT2/data/base.py ImagePaths.preprocess_image
    (PIL open, convert("RGB"), torchvision Resize(size) + CenterCrop((size, size)), /127.5 - 1);
  * reconstruction -> PNG: reconstruct.py custom_to_pil;
  * PSNR: evaluation.py (uint8 conversion with torch, then skimage peak_signal_noise_ratio).
The tests need none of this at run time: they read the files written here.
"""
import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

rng = np.random.default_rng(0)


def picture(h, w):
    """Smooth colour ramps plus noise: exercises the filter without compressing to nothing."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1),
                     127.5 + 127.5 * np.sin(x * 0.7 + y * 0.4)], axis=-1)
    noisy = base + rng.normal(0, 40, (h, w, 3))
    noisy[0, 0] = 0          # both extremes present
    noisy[-1, -1] = 255
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def reference_preprocess(path, size):
    """What ImagePaths.preprocess_image does before the /127.5 - 1 step, as uint8 HWC."""
    image = Image.open(path)
    if not image.mode == "RGB":
        image = image.convert("RGB")
    image = T.Compose([T.Resize(size), T.CenterCrop((size, size))])(image)
    return np.array(image)


# Resize + centre crop: a wide and a tall input, each down-scaled (antialiased), at its own
# shorter side (crop only) and up-scaled.
for (w, h), sizes in [((37, 23), [8, 16, 23, 40]), ((19, 31), [7, 19, 32]), ((61, 30), [10])]:
    name = f"resize_{w}x{h}.png"
    Image.fromarray(picture(h, w)).save(name)
    for size in sizes:
        Image.fromarray(reference_preprocess(name, size)).save(f"resize_{w}x{h}_to_{size}.png")

# JPEG decoding: PIL's (libjpeg-turbo) pixels for a 4:2:0 colour JPEG and an Adobe CMYK JPEG.
Image.fromarray(picture(21, 33)).save("photo_33x21.jpg", quality=90, subsampling=2)
Image.fromarray(np.array(Image.open("photo_33x21.jpg").convert("RGB"))).save("photo_33x21_pil.png")
cmyk = np.concatenate([picture(12, 10), rng.integers(0, 256, (12, 10, 1), dtype=np.uint8)], axis=-1)
Image.fromarray(cmyk, "CMYK").save("cmyk_10x12.jpg", quality=95)
Image.fromarray(np.array(Image.open("cmyk_10x12.jpg").convert("RGB"))).save("cmyk_10x12_pil.png")


# Reconstruction -> 8-bit, and PSNR, on a float32 "reconstruction" with values outside [-1, 1].
def custom_to_pil(x):
    # reconstruct.py's conversion, restated
    x = torch.clamp(x.detach().cpu(), -1., 1.)
    x = (x + 1.) / 2.
    x = x.permute(1, 2, 0).numpy()
    return Image.fromarray((255 * x).astype(np.uint8))


original = picture(9, 11)
Image.fromarray(original).save("psnr_original_11x9.png")
gt = torch.from_numpy((original / 127.5 - 1.0).astype(np.float32)).permute(2, 0, 1)
rec = (gt + torch.from_numpy(rng.normal(0, 0.08, gt.shape).astype(np.float32))).float()
rec[0, 0, :4] = torch.tensor([-1.7, 1.3, -1.0, 1.0])
rec.numpy().astype("<f4").tofile("psnr_reconstruction_3x9x11.f32")
custom_to_pil(rec).save("psnr_reconstruction_3x9x11_pil.png")

# evaluation.py's PSNR for a batch of one
images = gt.unsqueeze(0)
rec_images = rec.unsqueeze(0).clamp(-1, 1)
images = (images + 1) / 2
rec_images = (rec_images + 1) / 2
rgb_restored = (rec_images * 255.0).permute(0, 2, 3, 1).to("cpu", dtype=torch.uint8).numpy()
rgb_gt = (images * 255.0).permute(0, 2, 3, 1).to("cpu", dtype=torch.uint8).numpy()
rgb_restored = rgb_restored.astype(np.float32) / 255.
rgb_gt = rgb_gt.astype(np.float32) / 255.
with open("psnr_expected.txt", "w") as f:
    f.write(repr(float(peak_signal_noise_ratio(rgb_gt, rgb_restored))) + "\n")

print("torch", torch.__version__, "torchvision", torchvision.__version__,
      "Pillow", Image.__version__, "numpy", np.__version__)
