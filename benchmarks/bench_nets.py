"""Training throughput of TabularNetClassifier against skorch and sklearn (issue 2).

Adult (bundled, train split: 32,561 rows) one-hot encoded and standardised
(about 107 columns), an MLP 64-64 with Adam, the same epochs and batch size for
every contender, in one run. Prints samples/s and the ratios against
skorch's ``NeuralNetClassifier`` (same module) and sklearn's ``MLPClassifier``
(best of ``--repeat`` fits per run, the contenders taking turns; the ratios
of ``--runs`` runs, and their median), in wall-clock time and in CPU time of
the process (with one thread, the CPU time is the work done, whatever the
other processes on the machine; with more it adds the threads up). Then where
the CPU time of one sklfair batch goes (a replica of the training loop's
steps, timed one by one on the fitted net, in the thread's CPU time).

Every contender runs under the same thread limit (``--threads``: torch's
intra-op threads and the BLAS/OpenMP pools, through threadpoolctl). sklfair
trains networks this small on one thread whatever the limit. A pause
(``--pause`` seconds) before every fit lets the previous contender's
thread pools go idle: OpenBLAS's and OpenMP's threads keep spinning for a
while after their last call, and would slow whichever contender comes next.
On a machine with CUDA it also times batch 256 and 4096 on the GPU.

With ``--alternatives`` it also times, per batch of 256 on the fitted net's
weights, the ways to more speed that the loop does not take (issue 21):
the two halves of a batch on two Python threads (gradients summed), a first
layer that exploits the one-hot input's zeros (``embedding_bag`` over the
non-zero columns, which needs them found per batch), and the network's
forward and backward as one autograd node; and torch's intra-op threads at
2.

Run: ``python benchmarks/bench_nets.py [--epochs 5] [--repeat 3] [--runs 3]
[--threads 2] [--pause 0.5] [--alternatives]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch import NeuralNetClassifier
from threadpoolctl import threadpool_limits

from sklfair.datasets import load_adult
from sklfair.nets import TabularNetClassifier
from sklfair.nets._backprop import ReluBackprop, layer_gradients
from sklfair.nets._classifier import _cross_entropy
from sklfair.nets._modules import MLP


def adult_matrix():
    X, y = load_adult(return_X_y=True)
    pre = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        remainder=StandardScaler(),
    )
    return pre.fit_transform(X).astype(np.float32), y.to_numpy()


def skorch_net(n_features, batch_size, epochs, device):
    """skorch's NeuralNetClassifier around the same MLP 64-64, with Adam."""
    return NeuralNetClassifier(
        MLP,
        module__n_features=n_features,
        module__n_outputs=2,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        verbose=0,
        device=device,
    )


PEERS = {"skorch": "skorch NeuralNetClassifier", "sklearn": "sklearn MLPClassifier"}


def best_rate(fit, n_rows, epochs, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return n_rows * epochs / min(times)


def batch_breakdown(X, y, batch_size, epochs):
    """Microseconds per batch of each step of the training loop.

    Fits a net for one epoch, then runs ``epochs`` epochs of a replica of
    :meth:`TrainingNet._run_train_epoch` on its module, optimizer and
    training tensors, with a clock around each step (on a CPU every step is
    synchronous, so the clock measures it).
    """
    from sklfair.nets._compact import compact_rows
    from sklfair.nets._training import _all_unit, _FusedAdamStep

    clf = TabularNetClassifier(
        batch_size=batch_size, max_epochs=1, device="cpu", random_state=0
    ).fit(X, y)
    net = clf.net_
    y_enc = np.searchsorted(clf.classes_, y)
    # the fit's rows (duplicates merged, their counts as weights) and the
    # fit's tensors of them
    rows, weight = compact_rows(X, [y_enc], None)
    data = clf._tensor_data(X, {"y": y_enc[rows]}, weight, "cpu", rows=rows)
    optimizer = net.optimizer_
    step = _FusedAdamStep.for_optimizer(optimizer) or optimizer.step
    params = [p for group in optimizer.param_groups for p in group["params"]]
    backprop = ReluBackprop.for_module(net.module_)
    net._unit_weights = _all_unit(data)
    hand = net._hand_loss()
    clock = dict.fromkeys(
        ("gather", "forward", "loss", "backward", "optimizer step", "bookkeeping"),
        0.0,
    )
    n_batches = 0
    tick = time.thread_time
    total = tick()
    with torch.random.fork_rng():
        torch.set_num_threads(1)  # what the fit does for a net this small
        for _ in range(epochs):
            loss_sum = torch.zeros((), dtype=torch.float64)
            perm = torch.randperm(data.n_samples)
            batches = data.batches(perm, batch_size)
            while True:
                t0 = tick()
                batch = next(batches, None)
                t1 = tick()
                clock["gather"] += t1 - t0
                if batch is None:
                    break
                outputs = backprop.forward(batch["X"])
                t2 = tick()
                loss, grad = hand(outputs, batch)
                t3 = tick()
                for p in params:
                    p.grad = None
                backprop.backward(grad)
                t4 = tick()
                step()
                t5 = tick()
                loss_sum.add_(loss.detach(), alpha=batch["index"].shape[0])
                t6 = tick()
                clock["forward"] += t2 - t1
                clock["loss"] += t3 - t2
                clock["backward"] += t4 - t3
                clock["optimizer step"] += t5 - t4
                clock["bookkeeping"] += t6 - t5
                n_batches += 1
            loss_sum.item()
    total = tick() - total
    return {k: 1e6 * v / n_batches for k, v in clock.items()}, 1e6 * total / n_batches


def _clock(step, n=200, rounds=5):
    """Best (wall, CPU) microseconds per call of ``step`` over ``rounds``."""
    for _ in range(20):
        step()
    wall = cpu = float("inf")
    for _ in range(rounds):
        w, c = time.perf_counter(), time.process_time()
        for _ in range(n):
            step()
        wall = min(wall, (time.perf_counter() - w) / n)
        cpu = min(cpu, (time.process_time() - c) / n)
    return 1e6 * wall, 1e6 * cpu


class _OneNode(torch.autograd.Function):
    """A Linear/ReLU stack's forward and backward as one autograd node (the
    same operations as autograd's; each weight gradient as ``g.T @ a``)."""

    @staticmethod
    def forward(ctx, X, *params):
        inputs, h = [X], X
        for i in range(0, len(params), 2):
            h = torch.addmm(params[i + 1], h, params[i].t())
            if i + 2 < len(params):
                h = h.relu_()
                inputs.append(h)
        ctx.save_for_backward(*inputs, *params[0::2])
        return h

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        n = len(saved) // 2
        grads = [None] * (1 + 2 * n)
        # the loop's own backward pass (ReluBackprop's)
        for i, _, weight_grad, bias_grad in layer_gradients(grad, saved[:n], saved[n:]):
            grads[1 + 2 * i] = weight_grad
            grads[2 + 2 * i] = bias_grad
        return tuple(grads)


def alternatives(X, y, batch_size):
    """Per-batch wall and CPU microseconds of the avenues the loop does not take.

    Every line runs forward, loss and backward of the same 110-64-64-2 ReLU MLP
    on the same batch: the loop's step on one thread (the network's forward and
    backward by hand, ReluBackprop, and the loss's gradient by hand), and the
    same through autograd; the loop's step with torch's intra-op threads at 2;
    the batch's two halves on two Python threads (torch releases the GIL inside
    its operations; the gradients are summed); the first layer as
    ``embedding_bag`` over each row's non-zero columns (found per batch with
    ``nonzero``, as a fit would have to, or bounded memory aside, once per
    fit), its weight gradient left to autograd; the whole network as one
    autograd node.
    """
    import concurrent.futures

    import torch.nn.functional as F

    torch.manual_seed(0)
    module = MLP(n_features=X.shape[1], n_outputs=2)
    params = list(module.parameters())
    Xb = torch.from_numpy(np.ascontiguousarray(X[:batch_size]))
    yb = torch.as_tensor((y[:batch_size] == y[0]).astype(np.int64))
    forward = module.plain_forward

    def step(rows=Xb, target=yb, scale=1.0):
        loss = F.cross_entropy(forward(rows), target) * scale
        loss.backward()

    def zero_then(fn):
        def run():
            for p in params:
                p.grad = None
            fn()

        return run

    half = batch_size // 2
    pool = concurrent.futures.ThreadPoolExecutor(
        1, initializer=torch.set_num_threads, initargs=(1,)
    )

    def two_halves():
        # each half's mean loss weighs half: the sum is the batch's mean
        other = pool.submit(step, Xb[half:], yb[half:], 0.5)
        step(Xb[:half], yb[:half], 0.5)
        other.result()

    def sparse_rows(rows):
        mask = rows != 0
        counts = mask.sum(1)
        width = int(counts.max())
        where = mask.nonzero()
        slot = torch.arange(len(where)) - torch.repeat_interleave(
            torch.cumsum(counts, 0) - counts, counts
        )
        index = torch.zeros(rows.shape[0], width, dtype=torch.int64)
        values = torch.zeros(rows.shape[0], width)
        index[where[:, 0], slot] = where[:, 1]
        values[where[:, 0], slot] = rows[mask]
        return index, values

    first, rest = module[0], list(module)[1:]

    def sparse_step(index_values=None):
        index, values = index_values or sparse_rows(Xb)
        h = F.embedding_bag(
            index,
            first.weight.t().contiguous(),
            per_sample_weights=values,
            mode="sum",
        ).add_(first.bias)
        for layer in rest:
            h = layer(h)
        F.cross_entropy(h, yb).backward()

    def one_node():
        F.cross_entropy(_OneNode.apply(Xb, *params), yb).backward()

    backprop = ReluBackprop.for_module(module)

    def by_hand():
        # as the loop with equal weights: the loss's gradient by hand too
        outputs = backprop.forward(Xb)
        _, grad = _cross_entropy.mean_and_grad(outputs.detach(), yb)
        backprop.backward(grad)

    found = sparse_rows(Xb)
    lines = []
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        lines.append(("the loop's step (one thread)", _clock(zero_then(by_hand))))
        lines.append(("  the same through autograd", _clock(zero_then(step))))
        lines.append(("the network as one autograd node", _clock(zero_then(one_node))))
        lines.append(("two halves on two threads", _clock(zero_then(two_halves))))
        lines.append(("sparse first layer", _clock(zero_then(sparse_step))))
        lines.append(
            (
                "  the same, rows found beforehand",
                _clock(zero_then(lambda: sparse_step(found))),
            )
        )
        # last: a pool of OpenMP threads can slow what runs after it
        torch.set_num_threads(2)
        lines.append(("intra-op threads 2", _clock(zero_then(by_hand))))
    finally:
        torch.set_num_threads(previous)
        pool.shutdown()
    density = float((X != 0).mean())
    print(
        f"\nAlternatives per batch of {batch_size} (microseconds, best of 5 x 200; "
        f"input density {density:.1%})"
    )
    for name, (wall, cpu) in lines:
        print(f"  {name:<34s} wall {wall:7.1f}  cpu {cpu:7.1f}")


def one_run(X, y, args, batch):
    """Samples/s of every contender, measured in one run."""
    n, d = X.shape

    def sklfair_fit():
        TabularNetClassifier(
            batch_size=batch, max_epochs=args.epochs, device="cpu", random_state=0
        ).fit(X, y)

    def skorch_fit():
        skorch_net(d, batch, args.epochs, "cpu").fit(X, y.astype(np.int64))

    def sklearn_fit():
        MLPClassifier(
            hidden_layer_sizes=(64, 64),
            batch_size=batch,
            max_iter=args.epochs,
            tol=0.0,
            n_iter_no_change=10**9,
            random_state=0,
        ).fit(X, y)

    fits = {
        "skorch NeuralNetClassifier": skorch_fit,
        "sklearn MLPClassifier": sklearn_fit,
        "sklfair TabularNetClassifier": sklfair_fit,
    }
    # the contenders take turns, so that a change of the machine's load
    # during the run weighs on all of them alike
    wall = {name: [] for name in fits}
    cpu = {name: [] for name in fits}
    for _ in range(args.repeat):
        for name, fit in fits.items():
            time.sleep(args.pause)
            start, start_cpu = time.perf_counter(), time.process_time()
            fit()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return (
        {name: n * args.epochs / min(t) for name, t in wall.items()},
        {name: n * args.epochs / min(t) for name, t in cpu.items()},
    )


def gpu_rows(X, y, args):
    n, d = X.shape
    print(f"\nCUDA ({torch.cuda.get_device_name()})")
    for batch in (256, 4096):
        theirs = best_rate(
            lambda b=batch: skorch_net(d, b, args.epochs, "cuda").fit(
                X, y.astype(np.int64)
            ),
            n,
            args.epochs,
            args.repeat,
        )
        ours = best_rate(
            lambda b=batch: TabularNetClassifier(
                batch_size=b, max_epochs=args.epochs, device="cuda", random_state=0
            ).fit(X, y),
            n,
            args.epochs,
            args.repeat,
        )
        print(
            f"  batch {batch:>5d}: skorch {theirs:>12,.0f}  sklfair {ours:>12,.0f}"
            f" samples/s  ratio {ours / theirs:.1f}x"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--pause",
        type=float,
        default=0.5,
        help="seconds before every fit, for the previous one's threads to idle",
    )
    parser.add_argument(
        "--alternatives",
        action="store_true",
        help="also time two threads and a sparse first layer per batch",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)

    X, y = adult_matrix()
    n, d = X.shape
    print(f"Adult: {n} rows x {d} columns, MLP 64-64, Adam, epochs={args.epochs}")
    print(f"torch {torch.__version__}, thread limit {args.threads} for everyone")

    batch = 256
    print(f"\nCPU, batch {batch}, samples/s (best of {args.repeat} fits)")
    ratios = {(clock, peer): [] for clock in ("wall", "cpu") for peer in PEERS}
    for run in range(args.runs):
        for clock, rates in zip(("wall", "cpu"), one_run(X, y, args, batch)):
            ours = rates["sklfair TabularNetClassifier"]
            for peer, name in PEERS.items():
                ratios[clock, peer].append(ours / rates[name])
            print(
                f"  run {run + 1} ({clock}): "
                + ", ".join(f"{name} {rate:,.0f}" for name, rate in rates.items())
            )
    for clock in ("wall", "cpu"):
        for peer, target in (("skorch", 5.0), ("sklearn", 1.5)):
            values = ratios[clock, peer]
            print(
                f"  ratio sklfair / {peer:<7s} ({clock:4s}) median "
                f"{np.median(values):.2f}x (runs: "
                + ", ".join(f"{r:.2f}" for r in values)
                + f"; target >= {target}x)"
            )

    parts, whole = batch_breakdown(X, y, batch, args.epochs)
    print(f"\nWhere one sklfair batch's CPU time goes (batch {batch}, microseconds)")
    for name, micros in parts.items():
        print(f"  {name:<16s} {micros:7.1f}  ({micros / whole:5.1%})")
    print(f"  {'loop total':<16s} {whole:7.1f}")

    if args.alternatives:
        alternatives(X, y, batch)

    if torch.cuda.is_available():
        gpu_rows(X, y, args)
    else:
        print("\nCUDA: not available on this machine (GPU rows skipped).")


if __name__ == "__main__":
    main()
