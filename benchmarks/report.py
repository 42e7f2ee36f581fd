"""Turn measured ``CaseResult``s into Markdown: RESULTS.md and the README's benchmark section.

Every number in these files comes from one run of ``run_all.py``; nothing here
is typed by hand.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cases import (DEFAULT_MAX_RATIO_TO_FASTEST_FORCED, DEFAULT_MAX_RATIO_TO_ONE_THREAD, MEMORY_GOAL_CASE,
                   MEMORY_GOAL_MAX_FRACTION_OF_DATA)
from default_never_loses import DEFAULT, ONE_THREAD, RouteComparison
from measurements import CHEAP_RUN_SECONDS, GEMMS_ALONE, SQUARE_GEMM, CaseResult
from trainers import DISPLAY_NAMES, FASTPROP, IMPLEMENTATIONS, JAX, PEERS, SHORT_NAMES

REGENERATE_COMMAND = "pip install '.[bench,sklearn]' && python benchmarks/run_all.py"
README_START = "<!-- benchmarks:start -->"
README_END = "<!-- benchmarks:end -->"
NOT_MEASURED = "—"
TIMED_NAMES = {**DISPLAY_NAMES, GEMMS_ALONE: "GEMMs alone (NumPy)", SQUARE_GEMM: "square GEMM (NumPy)"}
SMALLEST_DATA_FOR_A_MEMORY_RATIO = 2**20  # below, a workspace of a few KiB would read as a huge ratio


# ---------------------------------------------------------------- formatting

def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return NOT_MEASURED
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e3:.2g} ms"


def format_ratio(ratio: float | None) -> str:
    if ratio is None:
        return NOT_MEASURED
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.3g}x"


def format_percent(fraction: float | None) -> str:
    return NOT_MEASURED if fraction is None else f"{fraction:.1%}" if fraction < 0.1 else f"{fraction:.0%}"


def format_bytes(n_bytes: int | None) -> str:
    if n_bytes is None:
        return NOT_MEASURED
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n_bytes) >= size:
            return f"{n_bytes / size:.1f} {unit}"
    return f"{n_bytes} B"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- goals

@dataclass(frozen=True)
class GoalOutcome:
    case_name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured (a peer missing)

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**not met**", None: "not measured"}[self.met]


def goal_outcomes(results: list[CaseResult]) -> list[GoalOutcome]:
    outcomes = []
    for result in results:
        for goal in result.case.goals:
            if goal.metric == "fraction_of_gemm_floor":
                value, shown = result.fraction_of_gemm_floor, format_percent(result.fraction_of_gemm_floor)
            else:
                value = result.speedup_over(goal.peer)
                shown = format_ratio(value)
            outcomes.append(GoalOutcome(result.case.name, goal.describe(), shown,
                                        None if value is None else value >= goal.minimum))
        if result.case.name == MEMORY_GOAL_CASE:
            fraction = result.memory_fraction_of_data(FASTPROP)
            outcomes.append(GoalOutcome(
                result.case.name,
                f"fit's peak memory above the data < {MEMORY_GOAL_MAX_FRACTION_OF_DATA:.0%} of the data",
                format_percent(fraction),
                None if fraction is None else fraction < MEMORY_GOAL_MAX_FRACTION_OF_DATA,
            ))
    return outcomes


# ---------------------------------------------------------------- tables

def ratio_table(results: list[CaseResult]) -> str:
    header = (["case", "fastprop"] + [DISPLAY_NAMES[peer] for peer in PEERS] + ["GEMM floor"]
              + [f"fastprop vs {SHORT_NAMES[peer]}" for peer in PEERS] + ["GEMM floor / fastprop"])
    rows = [[
        result.case.label,
        format_seconds(result.best_seconds(FASTPROP)),
        *[format_seconds(result.best_seconds(peer)) for peer in PEERS],
        format_seconds(result.gemm_floor_seconds),
        *[format_ratio(result.speedup_over(peer)) for peer in PEERS],
        format_percent(result.fraction_of_gemm_floor),
    ] for result in results]
    return markdown_table(header, rows)


def default_never_loses_table(comparisons: list[RouteComparison]) -> str:
    header = ["case", "dtype", "samples", "CPU path", "default", "one thread", "default / one thread",
              "fastest alternative", "its time", "default / fastest alternative", "same work", "verdict"]
    rows = []
    for c in comparisons:
        fastest = c.fastest_alternative
        verdict = {True: "met", False: "**not met**", None: "not measured"}[c.goal_met]
        rows.append([c.case.name, c.case.dtype_name, f"{c.case.n_samples:,}".replace(",", " "), c.cpu_path,
                     format_seconds(c.default_seconds), format_seconds(c.best_seconds(ONE_THREAD)),
                     format_ratio(c.ratio_to(ONE_THREAD))
                     + (" (same routes)" if c.runs_the_defaults_routes(ONE_THREAD) else ""),
                     fastest or "none with other routes",
                     format_seconds(c.best_seconds(fastest) if fastest else None), format_ratio(c.ratio_to(fastest)),
                     "yes" if c.same_work else "**NO**", verdict])
    return markdown_table(header, rows)


def default_never_loses_summary(comparisons: list[RouteComparison]) -> str:
    met = sum(c.goal_met is True for c in comparisons)
    counts = sorted({len(c.seconds.get(DEFAULT, [])) for c in comparisons})
    runs = " or ".join(map(str, counts))
    cheap = (f", {counts[-1]} where the default's fit takes under {CHEAP_RUN_SECONDS:g} s"
             if len(counts) > 1 else "")
    return (f"Goal: default ≤ {DEFAULT_MAX_RATIO_TO_FASTEST_FORCED:g}x the fastest alternative and "
            f"≤ {DEFAULT_MAX_RATIO_TO_ONE_THREAD:g}x one thread, in every row: met in {met} of "
            f"{len(comparisons)} rows (best of {runs} interleaved run{'s' if counts[-1] > 1 else ''}"
            f" each{cheap}).")


def goal_table(results: list[CaseResult], sklearn_comparisons=None) -> str:
    """The cases' goals, then those of the comparison with scikit-learn (if it ran)."""
    outcomes = goal_outcomes(results) + sklearn_goal_outcomes(sklearn_comparisons or [])
    return markdown_table(["case", "goal", "measured", "verdict"],
                          [[o.case_name, o.goal, o.measured, o.verdict] for o in outcomes])


def spread_table(results: list[CaseResult]) -> str:
    """Best and worst of the interleaved repeats: how noisy the run was (pytest-benchmark has the
    full statistics of its own runs)."""
    header = ["case", "implementation", "runs", "best", "worst",
              "other processes' load during the best run (cores)"]
    rows = []
    for result in results:
        for implementation, runs in result.seconds.items():
            others = result.background_cores_of_best_run(implementation)
            rows.append([result.case.name, TIMED_NAMES[implementation], str(len(runs)),
                         format_seconds(min(runs)), format_seconds(max(runs)), NOT_MEASURED if others is None else f"{others:.2f}"])
    return markdown_table(header, rows)


def memory_table(results: list[CaseResult]) -> str:
    header = ["case", "data (X and Y)"]
    implementations = [name for name in IMPLEMENTATIONS if any(name in r.memory for r in results)]
    for name in implementations:
        header += [f"{DISPLAY_NAMES[name]}: traced", f"{DISPLAY_NAMES[name]}: RSS growth"]
    header.append("fastprop: larger of the two / data")
    rows = []
    for result in results:
        row = [result.case.name, format_bytes(result.data_bytes)]
        for name in implementations:
            memory = result.memory.get(name)
            row += [format_bytes(memory.traced_peak_bytes if memory else None),
                    format_bytes(memory.rss_growth_bytes if memory else None)]
        small_data = result.data_bytes < SMALLEST_DATA_FOR_A_MEMORY_RATIO
        row.append(NOT_MEASURED if small_data else format_percent(result.memory_fraction_of_data(FASTPROP)))
        rows.append(row)
    return markdown_table(header, rows)


def agreement_table(results: list[CaseResult]) -> str:
    header = ["case", "compared with NumPy", "max abs difference", "relative to the largest update",
              "limit", "same work"]
    rows = []
    for result in results:
        for name, agreement in result.agreement.items():
            rows.append([result.case.name, DISPLAY_NAMES[name], f"{agreement.max_abs_difference:.1e}",
                         f"{agreement.relative_difference:.1e}", f"{agreement.limit:.0e}",
                         "yes" if agreement.agrees else "**NO**"])
    return markdown_table(header, rows)


def gemm_detail_table(results: list[CaseResult]) -> str:
    header = ["case", "GEMM floor (square rate)", "same GEMMs alone (NumPy, the case's shapes)", "fastprop",
              "floor / GEMMs alone: BLAS at these shapes", "GEMMs alone / fastprop: fastprop's time in products"]
    rows = []
    for r in results:
        alone, ours = r.gemms_alone_seconds, r.best_seconds(FASTPROP)
        rows.append([r.case.name, format_seconds(r.gemm_floor_seconds), format_seconds(alone), format_seconds(ours),
                     format_percent(r.gemm_floor_seconds / alone if alone else None),
                     format_percent(alone / ours if alone and ours else None)])
    return markdown_table(header, rows)


def case_sizes_table(results: list[CaseResult]) -> str:
    header = ["case", "steps", "FLOPs (matrix products)", "GEMM rate used for the floor",
              "JAX's compilation (before the timed runs, not in them)"]
    rows = [[r.case.name, f"{r.case.steps():,}", f"{r.case.training_flops():.3g}",
             f"{r.gemm_rate.flops_per_second / 1e9:.1f} GFLOP/s ({r.gemm_rate.dtype})",
             format_seconds(r.compile_seconds.get(JAX))] for r in results]
    return markdown_table(header, rows)


# ---------------------------------------------------------------- against scikit-learn
# (``sklearn_comparison.py``'s SklearnComparison rows)

SKLEARN_SECTION_TITLE = "## Against scikit-learn's MLP (fastprop.sklearn)"


def format_accuracy(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.4f}"


def format_difference(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:+.4f}"


def sklearn_goal_outcomes(comparisons) -> list[GoalOutcome]:
    outcomes = []
    for comparison in comparisons:
        for goal, value, met in comparison.goals():
            shown = format_difference(value) if "accuracy" in goal else format_ratio(value)
            outcomes.append(GoalOutcome(f"scikit-learn: {comparison.case.name}", goal, shown, met))
    return outcomes


def _sklearn_goal_cell(comparison) -> str:
    verdicts = {True: "met", False: "**not met**", None: "not measured"}
    (_, _, accuracy_met), (_, _, speed_met) = comparison.goals()
    return (f"accuracy ±{comparison.accuracy_tolerance:g}: {verdicts[accuracy_met]}; "
            f"≥ {comparison.speed_goal:g}x: {verdicts[speed_met]}")


def sklearn_table(comparisons) -> str:
    header = ["case", "train / test rows", "parameters (both estimators)", "test accuracy: scikit-learn",
              "fastprop", "difference", "CV best_score_ (grid): scikit-learn / fastprop",
              "epochs (n_iter_): scikit-learn / fastprop", "time: scikit-learn", "fastprop", "speedup",
              "fastprop's first run (measures new plans)", "goals"]
    rows = []
    for c in comparisons:
        fastprop_accuracy = format_accuracy(c.accuracy.get("fastprop"))
        if len(c.accuracies_seen.get("fastprop", ())) > 1:
            fastprop_accuracy += " (varied over runs)"
        cv = (f"{format_accuracy(c.cv_score.get('scikit-learn'))} / {format_accuracy(c.cv_score.get('fastprop'))}"
              if c.is_grid else NOT_MEASURED)
        rows.append([c.case.name, f"{c.n_train} / {c.n_test}", f"`{c.case.describe_parameters()}`",
                     format_accuracy(c.accuracy.get("scikit-learn")), fastprop_accuracy,
                     format_difference(c.accuracy_difference), cv,
                     f"{c.epochs.get('scikit-learn', NOT_MEASURED)} / {c.epochs.get('fastprop', NOT_MEASURED)}"
                     + (" (refit)" if c.is_grid else ""),
                     format_seconds(c.best_seconds("scikit-learn")), format_seconds(c.best_seconds("fastprop")),
                     format_ratio(c.speedup), format_seconds(c.first_seconds.get("fastprop")),
                     _sklearn_goal_cell(c)])
    return markdown_table(header, rows)


def sklearn_goals_line(comparisons) -> str:
    outcomes = sklearn_goal_outcomes(comparisons)
    measured = [o for o in outcomes if o.met is not None]
    if not measured:
        return "Goals: not measured (quick mode)."
    missed = [f"{o.case_name.removeprefix('scikit-learn: ')}: {o.goal} ({o.measured})"
              for o in measured if not o.met]
    goals = "; ".join(dict.fromkeys(o.goal for o in measured))
    return (f"Goals ({goals}): met in {len(measured) - len(missed)} of {len(measured)}"
            + (f"; not met: {'; '.join(missed)}." if missed else "."))


def sklearn_notes(comparisons, wait_for_quiet_seconds: float = 0.0) -> list[str]:
    """The run notes of the comparison: repeats, other processes' load, grid winners, plans."""
    runs = ", ".join(f"{c.case.name}: {len(c.seconds.get('fastprop', []))}" for c in comparisons)
    cores = [core for c in comparisons for per_run in c.background_cores.values() for core in per_run
             if core is not None]
    notes = [f"timed runs per estimator (best shown, interleaved): {runs}",
             "cores kept busy by other processes during the timed runs: "
             + (f"mean {sum(cores) / len(cores):.2f}, max {max(cores):.2f}" if cores else "unknown")
             + f" (waited up to {wait_for_quiet_seconds:g} s before each run for fewer than 0.25)"]
    for c in comparisons:
        if c.is_grid:
            notes.append(f"{c.case.name}: best parameters: scikit-learn {c.best_parameters.get('scikit-learn')}, "
                         f"fastprop {c.best_parameters.get('fastprop')}")
        first = c.first_seconds
        notes.append(f"{c.case.name}: first runs (not in the best): scikit-learn "
                     f"{format_seconds(first.get('scikit-learn'))}, fastprop {format_seconds(first.get('fastprop'))}"
                     + (f", which measured the plans {'; '.join(f'`{p}`' for p in c.plans_measured)}"
                        if c.plans_measured else ", plans read from the cache (measured by an earlier case)"))
    return notes


SKLEARN_TEXT = [
    "`python benchmarks/sklearn_comparison.py` (run by run_all.py; `--no-sklearn` skips it):",
    "`fastprop.sklearn.NetworkClassifier` against `sklearn.neural_network.MLPClassifier` with the same",
    "parameters and `random_state=0` (the same initial weights), on the same `train_test_split(random_state=0)`,",
    "the features scaled by a `StandardScaler` fitted on the training split (in the grid search, by the",
    "pipeline's, per fold). Test accuracy is on the test split (grid: the refit best estimator's). Times are",
    "`fit` (grid: `GridSearchCV.fit`, `n_jobs=1` for both, its 36 fits, scoring and refit), the best of",
    "interleaved runs after a pause, float64. Each estimator fits each case once before its timed runs; that",
    "first run of fastprop's (column \"first run\") measures the plans of the shapes this case is the first to",
    "fit in this run's new plan cache (`FASTPROP_CACHE_DIR`), and the timed runs read them back, as a user's",
    "later fits do. Both estimators run on the machine's default threads (fastprop's fit team; scikit-learn's",
    "BLAS).",
]


def sklearn_section_lines(comparisons, machine: dict[str, object], notes: list[str]) -> list[str]:
    """RESULTS.md's section on the comparison with scikit-learn (nothing when it did not run)."""
    if not comparisons and not notes:
        return []
    lines = [SKLEARN_SECTION_TITLE, "", f"Measured on: **{machine['CPU']}** ({machine['cores']}), {machine['date']}.",
             ""]
    if comparisons:
        lines += [*SKLEARN_TEXT, "", sklearn_table(comparisons), "", sklearn_goals_line(comparisons), ""]
        if any(o.met is False for o in sklearn_goal_outcomes(comparisons)):
            lines += [sklearn_goals_not_met_text(), ""]
    lines += [f"- {note}" for note in notes]
    return lines + [""]


def sklearn_goals_not_met_text() -> str:
    """goals_not_met.md's section on the comparison with scikit-learn (a "### scikit-learn"
    heading), or nothing."""
    text = GOALS_NOT_MET_TEXT.read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(?=### )", text)
    return "\n\n".join(part.rstrip() for part in parts if part.startswith("### scikit-learn"))


# ---------------------------------------------------------------- documents

def _machine_lines(machine: dict[str, object]) -> list[str]:
    lines = []
    for label, value in machine.items():
        if isinstance(value, list):
            lines.append(f"- {label}:")
            lines += [f"  - {item}" for item in value]
        else:
            lines.append(f"- {label}: {value}")
    return lines


def machine_summary(machine: dict[str, object]) -> str:
    return f"{machine['CPU']}, {machine['cores']}, {machine['date']}"


def measured_on_lines(machine: dict[str, object]) -> list[str]:
    """The top of RESULTS.md: the CPU, its vector extensions and the BLAS the numbers were measured with."""
    return [
        f"Measured on: **{machine['CPU']}** ({machine['cores']}), {machine['date']}",
        f"- CPU vector extensions: {machine['CPU vector extensions']}",
        f"- fastprop's kernels: {'; '.join(machine['fastprop kernels'].split('; ')[:2])}",
        *[f"- BLAS (threadpoolctl): {library}" + (" (the one fastprop calls, through SciPy)"
                                                  if "scipy.libs" in library else "")
          for library in machine["BLAS libraries"]],
        "- more under \"Machine\" at the end",
    ]


GOALS_NOT_MET_TEXT = Path(__file__).with_name("goals_not_met.md")


def goals_not_met_text(case_names: set[str]) -> str:
    """goals_not_met.md: its introduction and the "### Case X" sections of the named cases."""
    text = GOALS_NOT_MET_TEXT.read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(?=### )", text)
    kept = [parts[0].rstrip()]
    for part in parts[1:]:
        if part.startswith("### Case "):
            if part[len("### Case "):].split(None, 1)[0] in case_names:
                kept.append(part.rstrip())
        elif not part.startswith("### scikit-learn"):      # that one: the scikit-learn section's
            kept.append(part.rstrip())
    return "\n\n".join(kept)


def goals_not_met_lines(results: list[CaseResult], profiles: dict[str, str] | None = None) -> list[str]:
    """What was tried (goals_not_met.md) and where the time goes (the perf profiles
    run_all.py took in this run), when a goal is not met."""
    unmet = {outcome.case_name for outcome in goal_outcomes(results) if outcome.met is False}
    if not unmet:
        return []
    lines = [goals_not_met_text(unmet), ""]
    if profiles:
        lines += [
            "### Profiles taken in this run",
            "",
            "`python benchmarks/perf_summary.py CASE --repeats 3` (perf record, software clock, the",
            "training window only) for each case with a goal not met, summed by kind of work, with the",
            "largest symbols of each kind. Percentages are of CPU time over all threads.",
            "",
        ]
        for name, text in sorted(profiles.items()):
            lines += [f"Case {name}:", "", "```", text, "```", ""]
    return lines


ROUTES_TEXT = [
    "For every case, in float32 and float64, and every CPU path of this machine",
    "(`fastprop.config_context(cpu=...)`), fastprop's fit with its default configuration (no plan",
    "given) against the same fit on one thread (`threads=1`) and with every product forced onto",
    "one route (`plan=\"fixed\"` and thresholds 0 or None: all in plain loops, all in the vector",
    "kernels, not on the baseline path, all in BLAS), and against the other plans fastprop accepts,",
    "if any. Large cases are timed on fewer samples (column \"samples\": the same batches and the",
    "same short last batch, fewer of them), a variant whose best of two runs takes over 1.5x the",
    "default's is not run again, and every variant's final weights are checked against the default's",
    "(`default_never_loses.py`). A variant whose fit runs the very routes of the default's, none",
    "shared out (the same code on the same data: \"same routes\"; for XOR every plan is the plain",
    "loops), differs from it by the machine's noise only: it is shown, but neither counts as the",
    "fastest alternative nor as a loss to one thread.",
]


def results_markdown(results: list[CaseResult], machine: dict[str, object], run_notes: list[str],
                     profiles: dict[str, str] | None = None,
                     comparisons: list[RouteComparison] | None = None,
                     sklearn_comparisons=None, sklearn_run_notes: list[str] | None = None) -> str:
    repeats = ", ".join(f"{r.case.name}: {len(r.seconds.get(FASTPROP, []))}" for r in results)
    routes = ["## The default never loses", "", *ROUTES_TEXT, "", default_never_loses_summary(comparisons), "",
              default_never_loses_table(comparisons), ""] if comparisons else []
    return "\n".join([
        "# fastprop benchmarks",
        "",
        *measured_on_lines(machine),
        "",
        f"Written by `python benchmarks/run_all.py` (regenerate: `{REGENERATE_COMMAND}`); every number",
        "below comes from that one run, in one process. Do not edit by hand.",
        "",
        "Times are the **best** of several interleaved runs per implementation (runs per case: "
        f"{repeats}), each the whole training of the case, after a pause; an implementation whose runs take",
        f"under {CHEAP_RUN_SECONDS:g} s (case A) runs once, untimed, right before each of its timed runs",
        "after the first (a run of a few milliseconds started from an idle core is timed 1.2-1.6x slower).",
        "Ratios compare best with best. The GEMM floor is",
        "the case's FLOP count (forward `A @ W.T` for every layer, backward `delta @ W` for every layer",
        "but the first, `delta.T @ A_prev` for every layer: 2·n·in·out each) divided by the",
        "rate of a large square GEMM through NumPy, timed in the same rotation as the implementations (in",
        "each slot the best of 4 back-to-back products, then the best over the case's runs), so that drift",
        "of the host's speed moves the floor with them. JAX trains each case in one `jax.jit` call (an epoch",
        "is a `lax.scan` over the full batches plus one step on the short last batch), compiled before",
        "the timed run, on data already on its device.",
        "",
        "## Ratios",
        "",
        ratio_table(results),
        "",
        "## Goals",
        "",
        goal_table(results, sklearn_comparisons),
        "",
        *routes,
        *sklearn_section_lines(sklearn_comparisons or [], machine, sklearn_run_notes or []),
        "## The GEMM floor against the same products at the case's shapes",
        "",
        "The case's matrix products alone (`gemm_sequence.py`: the same shapes and transposes, batch by",
        "batch, into preallocated outputs, through NumPy's BLAS) are timed in the same rotation. For the",
        "small cases this is mostly NumPy's per-call overhead, not arithmetic.",
        "",
        gemm_detail_table(results),
        "",
        *goals_not_met_lines(results, profiles),
        "## Peak memory above the training data (one fit each)",
        "",
        "`traced`: tracemalloc's peak (NumPy arrays and Python objects); `RSS growth`: peak resident set",
        "during the call minus the resident set before it (everything, torch, XLA and BLAS buffers included).",
        "No ratio for training sets under 1 MiB.",
        "",
        memory_table(results),
        "",
        "## Same work: final weights against the NumPy baseline",
        "",
        "All implementations start from the same weights and train on the same batches in the same order.",
        "",
        agreement_table(results),
        "",
        "## Spread of the runs",
        "",
        spread_table(results),
        "",
        "## Case sizes",
        "",
        case_sizes_table(results),
        "",
        "## Machine",
        "",
        *_machine_lines(machine),
        *[f"- {note}" for note in run_notes],
        "",
    ])


def readme_section(results: list[CaseResult], machine: dict[str, object],
                   comparisons: list[RouteComparison] | None = None, sklearn_comparisons=None) -> str:
    routes = ["The default never loses (every case, float32 and float64, every CPU path; details in",
              "RESULTS.md): " + default_never_loses_summary(comparisons), ""] if comparisons else []
    return "\n".join([
        "## Benchmarks",
        "",
        f"Latest run ({machine_summary(machine)}; best of several runs; details, machine and",
        "memory in [benchmarks/RESULTS.md](benchmarks/RESULTS.md)):",
        "",
        ratio_table(results),
        "",
        goal_table(results, sklearn_comparisons),
        "",
        *routes,
        *(["Against scikit-learn's MLPClassifier (fastprop.sklearn's NetworkClassifier, the same parameters; "
           "details in RESULTS.md): " + sklearn_goals_line(sklearn_comparisons), ""] if sklearn_comparisons else []),
        "Regenerate this table and RESULTS.md (needs the `bench` extra for PyTorch and JAX; takes a few minutes):",
        "",
        "```bash",
        REGENERATE_COMMAND,
        "```",
    ])


def replace_readme_section(readme: str, section: str) -> str:
    """The README with everything between the benchmark markers replaced by ``section``."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {README_START} ... {README_END} markers")
    return readme[: start + len(README_START)] + "\n" + section + "\n" + readme[end:]


def write_reports(results_path: Path, readme_path: Path | None, results: list[CaseResult],
                  machine: dict[str, object], run_notes: list[str],
                  profiles: dict[str, str] | None = None,
                  comparisons: list[RouteComparison] | None = None,
                  sklearn_comparisons=None, sklearn_run_notes: list[str] | None = None) -> None:
    """sklearn_comparisons: sklearn_comparison.py's rows (None: not run, no section);
    sklearn_run_notes: its run notes (or why it was not measured)."""
    results_path.write_text(results_markdown(results, machine, run_notes, profiles, comparisons,
                                             sklearn_comparisons, sklearn_run_notes), encoding="utf-8")
    if readme_path is not None:
        readme = readme_path.read_text(encoding="utf-8")
        section = readme_section(results, machine, comparisons, sklearn_comparisons)
        readme_path.write_text(replace_readme_section(readme, section), encoding="utf-8")
