import torch

from faceorganizer.vision import fixed_image_standardization, prewhiten


def test_fixed_image_standardization_maps_pixel_range():
    x = torch.tensor([0.0, 127.5, 255.0])
    assert torch.allclose(fixed_image_standardization(x), torch.tensor([-127.5 / 128, 0.0, 127.5 / 128]))


def test_prewhiten_uses_unbiased_std_like_the_reference():
    torch.manual_seed(0)
    x = torch.rand(3, 8, 8) * 255
    out = prewhiten(x)
    expected = (x - x.mean()) / x.std(unbiased=True)
    assert torch.allclose(out, expected, atol=1e-6)


def test_prewhiten_floors_std_for_constant_images():
    x = torch.full((3, 4, 4), 7.0)
    out = prewhiten(x)
    assert torch.all(out == 0)
