#!/usr/bin/env bash
# The CUDA rows of benchmarks/RESULTS.md, on one GPU, in under 10 minutes:
#   the bf16 train step of sizes s and m, eager and compiled (torch.compile, CUDA graphs), each as a
#   fraction of the bf16 matmul peak measured in the same run;
#   the batch-1 play step (s and atari) plain and as a replayed CUDA graph, timed in alternating blocks.
# Every command has its own time limit, so one slow compile cannot take the others' time.
#
#   bash benchmarks/gpu.sh           # on a machine with a CUDA GPU
#   bash benchmarks/gpu.sh --smoke   # the same code paths on the CPU at tiny sizes (tests that it runs)
# PYTHON names the interpreter (default: python); the exit status is 1 when a row failed.
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
if [[ "${1:-}" == "--smoke" ]]; then
    device=cpu sizes="xs" shape="--batch 2 --seq 3 --image 16 --steps 1 --warmup 1"
    play="--steps 5 --blocks 1 --warmup 1 --threads 1" limit=300
else
    device=cuda sizes="s m" shape="--batch 16 --seq 64 --steps 5 --warmup 2"
    play="--steps 300 --blocks 3 --warmup 30" limit=200
fi
failed=0
run() {  # run LIMIT COMMAND...: one row, its own time limit; a failure is reported, the next row still runs
    local seconds=$1
    shift
    echo "\$ $*"
    timeout "$seconds" "$@" || { echo "(exit $?: did not finish)"; failed=1; }
}
nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || true
for size in $sizes; do
    run 60 "$python" benchmarks/train_throughput.py --device $device --size $size --precision bf16 $shape
    run $limit "$python" benchmarks/train_throughput.py --device $device --size $size --precision bf16 --compile $shape
done
run 120 "$python" benchmarks/imagine_latency.py --models s atari --device $device --static $play
exit $failed
