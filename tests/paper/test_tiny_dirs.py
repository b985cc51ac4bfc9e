"""Real-format checkpoint directories, made here at tiny sizes: they have the real layouts (the real classes and
diffusers' own pipeline load them), and the README's paper-scale calls load them into a PanWorldModel whose weights
are the checkpoints', frozen as in the paper, and whose saved config rebuilds the same modules."""

from __future__ import annotations

import importlib
import inspect
import json

import numpy as np
import torch
from safetensors.torch import load_file

from pan_gym.config import preset
from pan_gym.model.glp import PanWorldModel
from pan_gym.paper.tiny_dirs import TINY_SIZE
from pan_gym.train.stages import select_trainable


def test_directories_have_the_real_layouts_and_load_with_their_own_classes(tiny_dirs):
    from diffusers import WanPipeline
    from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration

    index = json.loads((tiny_dirs.wan / "model_index.json").read_text())
    assert index["_class_name"] == "WanPipeline"
    assert {"config.json", "tokenizer.json", "preprocessor_config.json"} <= {
        p.name for p in tiny_dirs.qwen.iterdir()
    }
    assert (tiny_dirs.qwen / "model.safetensors.index.json").is_file()  # sharded, as the 7B
    assert (tiny_dirs.wan / "transformer" / "diffusion_pytorch_model.safetensors.index.json").is_file()
    # each component with the class model_index.json names, as WanPipeline.from_pretrained loads them; the DiT
    # from its config and its sharded weights, strictly (diffusers' from_pretrained of a DiT with float32 modules
    # needs `accelerate`, which is not installed here)
    loaded = {}
    for name, (library, cls) in ((k, v) for k, v in index.items() if not k.startswith("_")):
        cls, folder = getattr(importlib.import_module(library), cls), tiny_dirs.wan / name
        if name == "transformer":
            loaded[name] = cls.from_config(cls.load_config(folder, local_files_only=True))
            weights = {k: v for f in sorted(folder.glob("*.safetensors")) for k, v in load_file(f).items()}
            loaded[name].load_state_dict(weights, strict=True)
        else:
            loaded[name] = cls.from_pretrained(folder, local_files_only=True)
    assert set(loaded) == {"tokenizer", "text_encoder", "vae", "scheduler", "transformer"}
    assert set(loaded) <= set(inspect.signature(WanPipeline.__init__).parameters)
    assert loaded["vae"].config.z_dim == loaded["transformer"].config.in_channels == 4
    qwen = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_dirs.qwen, local_files_only=True)
    assert qwen.dtype == torch.bfloat16  # stored as the real checkpoint is
    tok = AutoTokenizer.from_pretrained(tiny_dirs.qwen, local_files_only=True)
    assert tok.apply_chat_template([{"role": "user", "content": "turn left"}], tokenize=False).startswith(
        "<|im_start|>"
    )


def _readme_model(tiny_dirs) -> PanWorldModel:
    # the README's calls, at the tiny frame size and with a 2-step sampler
    cfg = preset("paper", qwen_path=str(tiny_dirs.qwen), image_size=TINY_SIZE, frames_per_chunk=2)
    cfg.vae.path = str(tiny_dirs.wan / "vae")
    cfg.decoder.path = str(tiny_dirs.wan)
    cfg.diffusion.sampler_steps, cfg.diffusion.guidance_scale = 2, 1.0
    return PanWorldModel.from_config(cfg)


def test_readme_calls_load_the_checkpoints_weights(tiny_dirs):
    model = _readme_model(tiny_dirs)
    cfg = model.cfg
    assert (cfg.backbone.hidden_size, cfg.decoder.num_layers, cfg.decoder.text_dim, cfg.vae.latent_channels) == (
        64, 2, 32, 4
    )  # read from the directories, not the preset's 7B + 14B  # fmt: skip
    assert {p.dtype for n, p in model.named_parameters() if not n.startswith("decoder_text.")} == {
        torch.float32
    }
    assert model.decoder_text.t5.dtype == torch.bfloat16  # UMT5 runs in bf16, as Wan runs it (never saved)
    qwen = {k: v for f in sorted(tiny_dirs.qwen.glob("*.safetensors")) for k, v in load_file(f).items()}
    assert torch.equal(model.backbone.lm.embed_tokens.weight, qwen["model.embed_tokens.weight"].float())
    assert torch.equal(
        model.encoder.visual.patch_embed.proj.weight, qwen["visual.patch_embed.proj.weight"].float()
    )
    dit = {
        k: v
        for f in sorted((tiny_dirs.wan / "transformer").glob("*.safetensors"))
        for k, v in load_file(f).items()
    }
    key = "blocks.1.attn2.to_k.weight"
    assert torch.equal(model.decoder.dit.state_dict()[key], dit[key])
    vae = load_file(tiny_dirs.wan / "vae" / "diffusion_pytorch_model.safetensors")
    assert torch.equal(
        model.latent.vae.state_dict()["decoder.conv_out.weight"], vae["decoder.conv_out.weight"]
    )
    select_trainable(model, "joint")
    trained = {n.split(".", 1)[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trained == {
        "backbone",
        "decoder",
        "reward_head",
    }  # h, the LM, the VAE and both text encoders frozen
    assert not any(p.requires_grad for p in model.backbone.lm.parameters())
    assert model.backbone.queries.requires_grad


def test_saved_model_rebuilds_the_same_modules(tiny_dirs, tmp_path):
    model = _readme_model(tiny_dirs)
    model.save_pretrained(tmp_path / "m")
    again = PanWorldModel.from_pretrained(tmp_path / "m")
    assert again.cfg == model.cfg
    mine, theirs = model.state_dict(), again.state_dict()
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    frame = torch.randint(0, 256, (1, TINY_SIZE, TINY_SIZE, 3), dtype=torch.uint8)
    outs = [
        m.step(m.start(frame), ["go to the red ball"], torch.Generator().manual_seed(0))
        for m in (model, again)
    ]
    assert torch.equal(outs[0][1], outs[1][1]) and outs[0][1].shape == (1, 2, TINY_SIZE, TINY_SIZE, 3)


def test_encoder_patches_frames_as_the_saved_image_processor_does(tiny_dirs):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    processor = Qwen2VLImageProcessorPil.from_pretrained(tiny_dirs.qwen, local_files_only=True)
    frame = np.random.default_rng(0).integers(0, 256, (TINY_SIZE, TINY_SIZE, 3), dtype=np.uint8)
    ref = processor(images=[frame], return_tensors="pt")
    model = _readme_model(tiny_dirs)
    patches, grid = model.encoder.patchify(torch.from_numpy(frame)[None, None])
    assert list(ref["image_grid_thw"][0]) == list(grid)
    torch.testing.assert_close(patches, ref["pixel_values"].float(), atol=2e-2, rtol=0)
