"""Recorded noise from the Debian packages: the fixed seen / held-out split, and clips like the generated types'.

Not skipped when the packages are missing: the test command installs them, so a missing package must fail here with
the error that names it."""
import os

import numpy as np
import pytest

from merit.data import real_noise as R

SR = 16000


def test_packages_are_installed():
    assert R.available(), R.INSTALL_HINT


def test_split_is_fixed_disjoint_and_non_empty():
    files = {k: R.real_noise_files(k) for k in R.REAL_KINDS}
    for k, f in files.items():
        assert f, k
        assert list(f) == sorted(f) and len(set(f)) == len(f)
        assert all(os.path.isfile(p) for p in f)
    assert not set(files["moh"]) & set(files["moh-heldout"])
    assert not set(files["samples"]) & set(files["samples-heldout"])
    assert len(files["moh"]) == 3 and len(files["moh-heldout"]) == 2
    # sonic-pi is split by category: no category on both sides, every category of each side present
    cat = lambda p: os.path.basename(p).split("_", 1)[0]  # noqa: E731
    seen, held = {cat(p) for p in files["samples"]}, {cat(p) for p in files["samples-heldout"]}
    assert seen == set(R.SAMPLES_SEEN) and held == set(R.SAMPLES_HELDOUT) and not seen & held
    assert R.REAL_SEEN == ("moh", "samples") and R.REAL_UNSEEN == ("moh-heldout", "samples-heldout")


@pytest.mark.parametrize("kind", R.REAL_KINDS)
def test_clip_is_unit_rms_finite_and_deterministic(kind):
    n = 3 * SR + 17
    a = R.make_real_noise(kind, n, np.random.default_rng(5))
    b = R.make_real_noise(kind, n, np.random.default_rng(5))
    c = R.make_real_noise(kind, n, np.random.default_rng(6))
    assert a.shape == (n,) and a.dtype == np.float32 and np.isfinite(a).all()
    assert abs(np.sqrt(np.mean(a.astype(np.float64) ** 2)) - 1) < 1e-3
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("kind", R.REAL_KINDS)
def test_clips_differ_across_seeds_and_are_never_silent(kind):
    clips = [R.make_real_noise(kind, SR, np.random.default_rng(s)) for s in range(8)]
    for i in range(len(clips)):
        for j in range(i):
            assert not np.allclose(clips[i], clips[j])
    for x in clips:
        # the floor: no stretch of digital silence, even between sample hits
        frames = x[: x.size // 160 * 160].reshape(-1, 160).astype(np.float64)
        assert np.sqrt(np.mean(frames ** 2, axis=1)).min() > 1e-4


def test_longer_than_a_file_loops():
    """n longer than the shortest held-out piece (≈ 73 s) and than any sample: still n samples of sound."""
    n = 80 * SR
    for kind in ("moh-heldout", "samples"):
        x = R.make_real_noise(kind, n, np.random.default_rng(0))
        assert x.shape == (n,) and np.isfinite(x).all()
        assert np.sqrt(np.mean(x[-SR:].astype(np.float64) ** 2)) > 1e-3


def test_moh_is_telephone_band_music():
    """The pieces are 8 kHz recordings: after resampling to 16 kHz, nothing of note above 4 kHz."""
    from merit.data.audio import band_energy_db
    x = R.make_real_noise("moh", 4 * SR, np.random.default_rng(1))
    assert band_energy_db(x, 4200, 7800) - band_energy_db(x, 200, 3000) < -40


def test_decoded_files_are_cached_and_read_only():
    path = R.real_noise_files("samples")[0]
    a, b = R.load(path), R.load(path)
    assert a is b and a.dtype == np.float32 and a.ndim == 1
    with pytest.raises(ValueError):
        a[0] = 1.0


def test_unknown_kind_names_the_known_kinds():
    with pytest.raises(ValueError) as e:
        R.make_real_noise("traffic", SR, np.random.default_rng(0))
    for k in R.REAL_KINDS:
        assert k in str(e.value)
    with pytest.raises(ValueError):
        R.real_noise_files("white")


def test_missing_package_error_names_it(monkeypatch, tmp_path):
    monkeypatch.setattr(R, "SAMPLES_DIR", str(tmp_path))
    R.real_noise_files.cache_clear()
    try:
        assert not R.available()
        with pytest.raises(R.RealNoiseMissing) as e:
            R.make_real_noise("samples-heldout", SR, np.random.default_rng(0))
        assert "sonic-pi-samples" in str(e.value) and "scripts/setup" in str(e.value)
    finally:
        R.real_noise_files.cache_clear()
