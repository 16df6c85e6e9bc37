from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from docsearch.encoder import Encoder
from docsearch.errors import ModelNotFound
from docsearch.model import BiGRUEncoder, EncoderConfig, fingerprint, load_model, save_model


def test_forward_shapes_and_unit_norm() -> None:
    torch.manual_seed(0)
    model = BiGRUEncoder(EncoderConfig(vocab_size=50, embed_dim=8, hidden_dim=6, out_dim=10)).eval()
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    out = model(ids, torch.tensor([3, 2]))
    assert out.shape == (2, 10)
    assert torch.allclose(out.norm(dim=-1), torch.ones(2), atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "meanmax"])
def test_padding_does_not_change_a_sentence(pooling: str) -> None:
    torch.manual_seed(0)
    config = EncoderConfig(vocab_size=50, embed_dim=8, hidden_dim=6, out_dim=10, pooling=pooling)
    model = BiGRUEncoder(config).eval()
    alone = model(torch.tensor([[5, 6, 7]]), torch.tensor([3]))
    padded = model(torch.tensor([[5, 6, 7, 0, 0, 0], [1, 2, 3, 4, 5, 6]]), torch.tensor([3, 6]))
    assert torch.allclose(alone[0], padded[0], atol=1e-6)


def test_save_load_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = BiGRUEncoder(EncoderConfig(vocab_size=50, embed_dim=8, hidden_dim=6, out_dim=10)).eval()
    save_model(model, b"tokenizer-bytes", tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    ids, lengths = torch.tensor([[5, 6, 7]]), torch.tensor([3])
    assert torch.allclose(model(ids, lengths), loaded(ids, lengths), atol=1e-6)
    assert loaded.config == model.config
    with np.load(tmp_path / "m" / "weights.npz", allow_pickle=False) as arrays:
        assert all(arrays[k].dtype == np.float32 for k in arrays.files)


def test_fingerprint_changes_with_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = EncoderConfig(vocab_size=50, embed_dim=8, hidden_dim=6, out_dim=10)
    save_model(BiGRUEncoder(config), b"t", tmp_path / "a")
    save_model(BiGRUEncoder(config), b"t", tmp_path / "b")
    assert fingerprint(tmp_path / "a") != fingerprint(tmp_path / "b")
    assert fingerprint(tmp_path / "a") == fingerprint(tmp_path / "a")


def test_missing_model_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="missing config.json"):
        Encoder.load(tmp_path, device="cpu")


def test_encoder_output_shape_dtype_and_norm(tiny_encoder: Encoder) -> None:
    vectors = tiny_encoder.encode(["The Moon pulls the sea.", "", "Bees dance."])
    assert vectors.shape == (3, tiny_encoder.dim)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_sentence_encodes_the_same_alone_and_in_a_batch(tiny_encoder: Encoder) -> None:
    sentence = "Volcanoes erupt when magma reaches the surface."
    alone = tiny_encoder.encode([sentence])[0]
    batch = tiny_encoder.encode(
        [
            "A much longer sentence about bread dough, yeast and carbon dioxide rising.",
            sentence,
            "x",
        ],
        batch_size=2,
    )
    assert np.allclose(alone, batch[1], atol=1e-5)


def test_long_text_is_windowed_not_truncated(tiny_encoder: Encoder) -> None:
    words = "bees dance to show where the flowers are".split()
    long_text = " ".join(words * 20)  # far beyond max_tokens (24)
    spans = tiny_encoder.windows(long_text)
    assert len(spans) > 1
    assert spans[0][0] == 0 and spans[-1][1] == len(long_text)
    head = tiny_encoder.encode([long_text[: spans[0][1]]])[0]
    whole = tiny_encoder.encode([long_text])[0]
    # The whole text's vector mixes every window, so it differs from the first window alone.
    assert not np.allclose(head, whole, atol=1e-4)
    assert np.isclose(np.linalg.norm(whole), 1.0, atol=1e-5)


def test_numpy_query_encoder_matches_torch(tiny_model_dir: Path, tiny_encoder: Encoder) -> None:
    from docsearch.query_encoder import QueryEncoder

    texts = ["how do tides work?", "", "bees " * 40, "Crème brûlée 😀"]
    numpy_vectors = QueryEncoder(tiny_model_dir).encode_queries(texts)
    assert numpy_vectors.shape == (4, tiny_encoder.dim)
    assert np.allclose(numpy_vectors, tiny_encoder.encode(texts), atol=1e-5)
    assert QueryEncoder(tiny_model_dir).fingerprint == tiny_encoder.fingerprint


def test_numpy_query_path_does_not_import_torch(tiny_model_dir: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from docsearch.query_encoder import QueryEncoder; "
        f"QueryEncoder(Path({str(tiny_model_dir)!r})).encode_queries(['x']); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_batches_side_by_side_give_the_same_vectors(tiny_encoder: Encoder) -> None:
    texts = [f"sentence number {i} " + "word " * (i % 13) for i in range(200)]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # one batch at a time
        alone = tiny_encoder.encode(texts, batch_size=16)
        torch.set_num_threads(3)  # three batches side by side
        together = tiny_encoder.encode(texts, batch_size=16)
        assert torch.get_num_threads() == 3  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_fingerprints_are_kept_while_the_files_are_unchanged(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    import json
    import os
    import shutil

    from docsearch.model_config import WEIGHTS_FILE, _fingerprint_cache_path, fingerprint

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    real = fingerprint(model)
    assert real == fingerprint(tiny_model_dir), "same files, same fingerprint"
    cache_file = _fingerprint_cache_path()
    cache = json.loads(cache_file.read_text())
    cache[str(model.resolve())]["fingerprint"] = "from-the-cache"
    cache_file.write_text(json.dumps(cache))
    assert fingerprint(model) == "from-the-cache", "unchanged files are not hashed again"
    weights = model / WEIGHTS_FILE
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert fingerprint(model) == real, "a touched file is hashed again"
    with open(weights, "ab") as f:
        f.write(b"\0")
    assert fingerprint(model) != real


def test_encoders_pick_numpy_for_a_few_queries_until_torch_is_loaded(tiny_model_dir: Path) -> None:
    from docsearch.config import Settings
    from docsearch.encoder import Encoder
    from docsearch.encoders import NUMPY_QUERY_LIMIT, Encoders
    from docsearch.query_encoder import QueryEncoder

    encoders = Encoders(Settings(index=tiny_model_dir, device="cpu"))
    assert isinstance(encoders.for_queries(tiny_model_dir, 1), QueryEncoder)
    assert isinstance(encoders.for_queries(tiny_model_dir, NUMPY_QUERY_LIMIT + 1), Encoder)
    assert isinstance(encoders.for_queries(tiny_model_dir, 1), Encoder), "loaded: reused"
    assert encoders.encoder(tiny_model_dir) is encoders.encoder(tiny_model_dir)
    np.testing.assert_allclose(
        encoders.query_vectors(tiny_model_dir, ["tides"]),
        QueryEncoder(tiny_model_dir).encode_queries(["tides"]),
        atol=1e-5,
    )
    encoders.forget()
    assert isinstance(encoders.for_queries(tiny_model_dir, 1), QueryEncoder)
