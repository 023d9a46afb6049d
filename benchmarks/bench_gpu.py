"""Training throughput on a GPU: skorch, plain torch and sklfair (issue 8).

An MLP 64-64 with Adam on synthetic binary data, in one run:

- Adult-size data (32,561 rows x 108 float32 columns) at batch 256 and 4096;
- 10 million rows x 100 columns at batch 65,536 (``--large-rows`` to change).

Contenders: skorch's ``NeuralNetClassifier`` (the same module, its
DataLoader loop), a plain eager torch loop over device tensors (the floor
any wrapper pays for eager execution), and sklfair's
``TabularNetClassifier``. Samples/s are the best of ``--repeat`` fits of
``--epochs`` epochs, after a warm-up fit, with a device synchronisation
before the clock stops. The issue's targets on an H100: at least 25M
samples/s at batch 4096 and 140M at 65,536.

Without CUDA the script says so and stops; ``--device cpu`` runs the same
code on the CPU with small sizes (a smoke test of the script, not a
measurement of anything the issue asks about).

Run: ``python benchmarks/bench_gpu.py [--epochs 3] [--repeat 3] [--tf32]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from bench_nets import skorch_net

from sklfair.nets import TabularNetClassifier
from sklfair.nets._modules import MLP


def synthetic(n_rows, n_features, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    coef = np.linspace(-1, 1, n_features, dtype=np.float32)
    y = (X @ coef + rng.standard_normal(n_rows, dtype=np.float32) > 0).astype(np.int64)
    return X, y


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def best_rate(fit, n_rows, epochs, repeat, device):
    fit()  # warm-up: kernels, allocator, cuBLAS handles
    times = []
    for _ in range(repeat):
        synchronize(device)
        start = time.perf_counter()
        fit()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return n_rows * epochs / min(times)


def plain_torch(X, y, batch_size, epochs, device):
    """The eager floor: device tensors, a shuffled index, fused Adam."""
    Xt = torch.as_tensor(X, device=device)
    yt = torch.as_tensor(y, device=device)
    module = MLP(n_features=X.shape[1], n_outputs=2, hidden_units=(64, 64)).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, fused=True)
    n = len(yt)
    for _ in range(epochs):
        perm = torch.randperm(n, device=device)
        for start in range(0, n, batch_size):
            index = perm[start : start + batch_size]
            loss = torch.nn.functional.cross_entropy(module(Xt[index]), yt[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def contenders(X, y, batch_size, epochs, device, skorch_too=True):
    rows = {}
    if skorch_too:

        def skorch_fit():
            skorch_net(X.shape[1], batch_size, epochs, device).fit(X, y)

        rows["skorch NeuralNetClassifier"] = skorch_fit
    rows["plain eager torch"] = lambda: plain_torch(X, y, batch_size, epochs, device)
    rows["sklfair TabularNetClassifier"] = lambda: TabularNetClassifier(
        max_epochs=epochs, batch_size=batch_size, device=device, random_state=0
    ).fit(X, y)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large-rows", type=int, default=10_000_000)
    parser.add_argument("--tf32", action="store_true", help="allow TF32 matmuls")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA is not available on this machine: nothing to measure.")
        print("(`--device cpu` runs the script itself on small sizes.)")
        return
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    smoke = not args.device.startswith("cuda")
    name = torch.cuda.get_device_name() if not smoke else "CPU (smoke test)"
    print(f"torch {torch.__version__}, {name}, MLP 64-64, Adam, {args.epochs} epochs")
    adult_rows = 4_096 if smoke else 32_561
    large_rows = 200_000 if smoke else args.large_rows
    cases = [
        (adult_rows, 108, 256, True),
        (adult_rows, 108, 4096, True),
        (large_rows, 100, 65_536, True),
    ]
    targets = {4096: 25e6, 65_536: 140e6}
    for n_rows, n_features, batch_size, skorch_too in cases:
        X, y = synthetic(n_rows, n_features)
        print(f"\n{n_rows:,} rows x {n_features} columns, batch {batch_size:,}")
        rates = {}
        for label, fit in contenders(
            X, y, batch_size, args.epochs, args.device, skorch_too
        ).items():
            rates[label] = best_rate(fit, n_rows, args.epochs, args.repeat, args.device)
            print(f"  {label:32s} {rates[label]:>16,.0f} samples/s")
        ours = rates["sklfair TabularNetClassifier"]
        if "skorch NeuralNetClassifier" in rates:
            print(
                f"  ratio sklfair / skorch = "
                f"{ours / rates['skorch NeuralNetClassifier']:.1f}x"
            )
        eager = rates["plain eager torch"]
        print(f"  ratio sklfair / plain eager torch = {ours / eager:.2f}x")
        if batch_size in targets and not smoke:
            target = targets[batch_size]
            print(
                f"  target >= {target / 1e6:.0f}M samples/s: "
                f"{'met' if ours >= target else 'not met'}"
            )


if __name__ == "__main__":
    main()
