#!/usr/bin/env bash
# Reproduce the shipped Meta-World model (pan_gym/assets/models/metaworld-small): collect, four stages, evaluate.
# About 4 1/4 hours on 2 CPU cores (collect ~13 min, stage 1 ~92 min, stage 2 ~17 min, stage 3 ~80 min, stage 4
# ~46 min, eval ~8 min).
# Every step resumes where it stopped (re-run the script after an interruption).
#   bash scripts/train_default_metaworld.sh [WORKDIR]      (default WORKDIR: ./runs/default-metaworld)
set -euo pipefail
W=${1:-runs/default-metaworld}
PAN=${PAN:-.venv/bin/pan-gym}
mkdir -p "$W"

# 1. Data: 2,500 episodes of the mixed policy (the scripted expert running the mission 60 % of the time, else gripper
#    motions and object nudges; an episode ends when the task succeeds), seeds 0…; and 600 episodes of the random
#    policy (seeds 10,000…), whose episodes run the full 20 actions with the arm all over the table.
$PAN collect --world metaworld --episodes 2500 --out "$W/data-mixed" --policy mixed --seed 0
$PAN collect --world metaworld --episodes 600 --out "$W/data-random" --policy random --seed 10000

# 2. Stage 1: the small preset (8-px pixel patches, x0-prediction), one frame per action (its outcome), the loss
#    weighted 8x on pixels the action changes (the arm is a small part of the frame), and the reward loss scaled to
#    Meta-World's 0-10 rewards. lr 4e-4 on a 5,500-step cosine to 0.2x; final/ holds the EMA weights.
$PAN train --preset small --world metaworld --data "$W/data-mixed,$W/data-random" --stage joint --steps 5500 \
  --batch-size 16 --window 2 --lr 4e-4 --warmup-steps 100 --min-lr-ratio 0.2 --bf16 --ema-decay 0.999 \
  --save-every 100 --threads 2 --resume --no-progress \
  --config "frames_per_chunk=1,diffusion.change_weight=8,reward.loss_weight=0.01" --out "$W/train"

# 3. Stage 2: from stage 1's EMA weights, the same data, lr 1e-4 on a 1,000-step cosine to 0.2x.
$PAN train --preset small --world metaworld --data "$W/data-mixed,$W/data-random" --stage joint --init "$W/train/final" \
  --steps 1000 --batch-size 16 --window 2 --lr 1e-4 --warmup-steps 50 --min-lr-ratio 0.2 --bf16 --ema-decay 0.999 \
  --save-every 100 --threads 2 --resume --no-progress --out "$W/stage2"

# 4. Stage 3: from stage 2's EMA weights, a new data order (seed 3), lr 2e-4 on a 4,500-step cosine to 0.2x; the
#    model's config turns on diffusion.shared_noise (inference only: a rollout reuses one noise draw for every
#    action, so the blur does not flicker; no effect on training).
$PAN train --preset small --world metaworld --data "$W/data-mixed,$W/data-random" --stage joint --init "$W/stage2/final" \
  --steps 4500 --batch-size 16 --window 2 --lr 2e-4 --warmup-steps 100 --min-lr-ratio 0.2 --bf16 --ema-decay 0.999 \
  --save-every 250 --keep-checkpoints 20 --seed 3 --threads 2 --resume --no-progress \
  --config "diffusion.shared_noise=true" --out "$W/stage3"

# 5. Stage 4: from stage 3's EMA weights, the decoder's copy gate on (one more output channel g per pixel; the clean
#    frame is g * previous frame + (1 - g) * drawn frame, the gate taught which pixels kept their value), another
#    data order (seed 14), lr 2e-4 on a 3,000-step cosine to 0.2x. Shipped: its final/ (chosen over stage 3 on a
#    fresh block of 192 start states, eval --seed-offset 200000; benchmarks/RESULTS.md, "The two Meta-World goals as the rule").
$PAN train --preset small --world metaworld --data "$W/data-mixed,$W/data-random" --stage joint --init "$W/stage3/final" \
  --steps 3000 --batch-size 16 --window 2 --lr 2e-4 --warmup-steps 100 --min-lr-ratio 0.2 --bf16 --ema-decay 0.999 \
  --save-every 250 --keep-checkpoints 20 --seed 14 --threads 2 --resume --no-progress \
  --config "decoder.copy_gate=true,diffusion.shared_noise=true" --out "$W/stage4"

# 6. Evaluate on the test block: start states never used in training (seeds from 1,000,000), and ship.
$PAN eval --world metaworld --model "$W/stage4/final" --n-states 192 --rollouts 128 --horizons 20 \
  --planning-episodes 0 --no-progress --out "$W/eval/report.json"
echo "ship: cp $W/stage4/final/{config.json,model.safetensors} pan_gym/assets/models/metaworld-small/"
