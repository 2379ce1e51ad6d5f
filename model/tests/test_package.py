import merit


def test_package_imports_from_repository_root():
    assert merit.__doc__.startswith("Sparse MERIT")
