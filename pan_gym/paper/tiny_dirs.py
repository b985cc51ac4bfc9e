"""Tiny checkpoint directories in the formats of the real ones, written with ``save_pretrained`` by the real classes:

    ROOT/qwen/   Qwen2_5_VLForConditionalGeneration (config.json, model.safetensors, generation_config.json),
                 its tokenizer (tokenizer.json, tokenizer_config.json) and image processor (preprocessor_config.json)
                 -- the layout of Qwen2.5-VL-7B-Instruct / -3B-Instruct
    ROOT/wan/    a diffusers WanPipeline directory -- the layout of Wan2.1-T2V-14B-Diffusers / -1.3B-Diffusers:
                 model_index.json, transformer/ (WanTransformer3DModel), vae/ (AutoencoderKLWan),
                 text_encoder/ (UMT5EncoderModel), tokenizer/ (T5TokenizerFast), scheduler/

Qwen and UMT5 weights are stored in bfloat16, the DiT (sharded, with an index) and the VAE in float32; patch sizes, the 2x2
merge, the VAE's 8x downsampling and the DiT's (1, 2, 2) patches are the real ones, only widths and depths are tiny.
Tokenizers are trained offline with the ``tokenizers`` library on a few phrases (nothing is downloaded). The
README's paper-scale calls load these directories unchanged (``preset("paper", qwen_path=...)``); so does
``diffusers.WanPipeline.from_pretrained``.

Example:
    >>> import tempfile
    >>> dirs = write_tiny_checkpoints(tempfile.mkdtemp())
    >>> sorted(p.name for p in dirs.wan.iterdir())
    ['model_index.json', 'scheduler', 'text_encoder', 'tokenizer', 'transformer', 'vae']
    >>> cfg = dirs.paper_config(); cfg.backbone.hidden_size, cfg.image_size   # read from the directories
    (64, 112)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from pan_gym.config import PanConfig, preset

# phrases the tokenizers are trained on: enough to give every letter and common word a token
_CORPUS = [
    "go to the red ball",
    "pick up the blue key",
    "open the yellow door",
    "turn left",
    "turn right",
    "move forward",
    "put the grey box next to the purple ball",
    "a green box appears next to the door",
    "push the block to the goal, then reach the button.",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789",
]
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>"]  # fmt: skip
_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TINY_SIZE = 112  # frames: a multiple of the patch x merge (28) and of the VAE factor x DiT patch (16)


@dataclass
class TinyDirs:
    """The directories ``write_tiny_checkpoints`` made."""

    qwen: Path  # Qwen2.5-VL (h, f and the action tokenizer)
    wan: Path  # the Wan2.1 diffusers directory (g's DiT, VAE, UMT5)

    def paper_config(self, **overrides) -> PanConfig:
        """The ``paper`` preset pointed at these directories as the README's calls do, at the tiny frame size, 2
        frames per chunk and a sampler of 2 steps without guidance (``overrides``: other top-level fields)."""
        from pan_gym.model.pretrained import config_from_checkpoints

        top = dict(image_size=TINY_SIZE, frames_per_chunk=2) | overrides
        cfg = preset("paper", qwen_path=str(self.qwen), **top)
        cfg.vae.path = str(self.wan / "vae")
        cfg.decoder.path = str(self.wan)
        cfg.diffusion.sampler_steps, cfg.diffusion.guidance_scale = 2, 1.0
        return config_from_checkpoints(cfg)


def _qwen_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2TokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=QWEN_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS, trainer)
    fast = Qwen2TokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = _CHAT_TEMPLATE
    return fast


def _t5_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import T5TokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=200, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>", show_progress=False
    )
    tok.train_from_iterator(_CORPUS * 4, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))]
    )
    return T5TokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0
    )


def write_qwen(path: str | Path, seed: int = 0) -> Path:
    """A tiny ``Qwen2_5_VLForConditionalGeneration`` with its tokenizer and image processor, in bfloat16."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    path = Path(path)
    tokenizer = _qwen_tokenizer()
    special = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    config = Qwen2_5_VLConfig(
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, window_size=112, out_hidden_size=64,
                           fullatt_block_indexes=[1], tokens_per_second=2),
        text_config=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=128, vocab_size=len(tokenizer), max_position_embeddings=4096,
                         rms_norm_eps=1e-6, bos_token_id=special["<|endoftext|>"], eos_token_id=special["<|im_end|>"],
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]}),
        image_token_id=special["<|image_pad|>"],
        video_token_id=special["<|video_pad|>"],
        vision_start_token_id=special["<|vision_start|>"],
        vision_end_token_id=special["<|vision_end|>"],
        tie_word_embeddings=True,  # as the 3B (the 7B unties them)
    )  # fmt: skip
    torch.manual_seed(seed)
    Qwen2_5_VLForConditionalGeneration(config).to(torch.bfloat16).save_pretrained(
        path, max_shard_size="100KB"
    )
    tokenizer.save_pretrained(path)
    processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=448 * 448)
    processor.save_pretrained(path)
    meta = json.loads((path / "preprocessor_config.json").read_text())
    meta.update(image_processor_type="Qwen2VLImageProcessor", processor_class="Qwen2_5_VLProcessor")
    (path / "preprocessor_config.json").write_text(json.dumps(meta, indent=2))
    return path


def write_wan(path: str | Path, seed: int = 0) -> Path:
    """A tiny Wan2.1-T2V diffusers directory: transformer/, vae/, text_encoder/, tokenizer/, scheduler/."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    path = Path(path)
    torch.manual_seed(seed)
    tokenizer = _t5_tokenizer()
    tokenizer.save_pretrained(path / "tokenizer")
    t5 = UMT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                    relative_attention_num_buckets=8, relative_attention_max_distance=16,
                    feed_forward_proj="gated-gelu", pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)  # fmt: skip
    UMT5EncoderModel(t5).to(torch.bfloat16).save_pretrained(path / "text_encoder")
    z = 4
    vae = AutoencoderKLWan(base_dim=8, z_dim=z, dim_mult=[1, 2, 2, 2], num_res_blocks=1, attn_scales=[],
                           temperal_downsample=[False, True, True], latents_mean=[0.0] * z, latents_std=[1.0] * z)  # fmt: skip
    vae.save_pretrained(path / "vae")  # float32, as Wan's VAE
    dit = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=z,
                                out_channels=z, text_dim=t5.d_model, freq_dim=32, ffn_dim=64, num_layers=2,
                                cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6)  # fmt: skip
    dit.save_pretrained(
        path / "transformer", max_shard_size="100KB"
    )  # sharded with an index, as the real one
    UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0
    ).save_pretrained(path / "scheduler")
    index = {
        "_class_name": "WanPipeline",
        "scheduler": ["diffusers", "UniPCMultistepScheduler"],
        "text_encoder": ["transformers", "UMT5EncoderModel"],
        "tokenizer": ["transformers", "T5TokenizerFast"],
        "transformer": ["diffusers", "WanTransformer3DModel"],
        "vae": ["diffusers", "AutoencoderKLWan"],
    }
    (path / "model_index.json").write_text(json.dumps(index, indent=2))
    return path


def write_tiny_checkpoints(root: str | Path, seed: int = 0) -> TinyDirs:
    """Write ``ROOT/qwen`` and ``ROOT/wan`` (see the module docstring); returns their paths."""
    root = Path(root)
    return TinyDirs(write_qwen(root / "qwen", seed), write_wan(root / "wan", seed))


def paper_train_args(dirs: TinyDirs, out: str | Path, steps: int = 3, lora_rank: int = 0) -> list[str]:
    """``pan-gym train`` options that train the paper preset from ``dirs`` at the tiny size with PAN's recipe
    (h and the LM frozen, bf16 autocast, activation checkpointing; LoRA adapters on the LM with ``lora_rank``);
    add ``--fsdp`` under ``torchrun``."""
    config = ",".join([f"backbone.lora_rank={lora_rank}",
        f"qwen_path={dirs.qwen}", f"vae.path={dirs.wan / 'vae'}", f"decoder.path={dirs.wan}",
        f"image_size={TINY_SIZE}", "frames_per_chunk=2", "diffusion.sampler_steps=2", "diffusion.guidance_scale=1.0",
    ])  # fmt: skip
    return ["--preset", "paper", "--config", config, "--data", "synthetic:8", "--window", "2", "--batch-size", "1",
            "--steps", str(steps), "--save-every", "2", "--lr", "1e-3", "--warmup-steps", "1", "--bf16",
            "--activation-checkpointing", "--threads", "1", "--no-progress", "--no-tensorboard", "--out", str(out)]  # fmt: skip
