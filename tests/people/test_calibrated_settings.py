from faceorganizer.people import default_settings


def test_offline_model_uses_its_measured_operating_point():
    s = default_settings("dlib-resnet-v1")
    assert s.calibrated and "bench_clustering" in s.source
    assert (s.eps, s.min_samples, s.suggest_distance, s.suggest_margin) == (0.36, 3, 0.46, 0.04)
    assert default_settings("dlib-resnet-v1", 0.0).eps == 0.30
    assert default_settings("dlib-resnet-v1", 1.0).eps == 0.38


def test_inception_resnet_keeps_the_published_point():
    s = default_settings("vggface2")
    assert not s.calibrated and "PhotoPrism" in s.source and s.eps == 0.64
