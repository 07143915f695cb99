"""CodeDPO's self-validation score (Zhang et al., 2024, arXiv 2410.05605; the method's step "Correctness
Optimization with Self-Validation Score").

Solutions and tests are the two sides of a bipartite graph, with an edge where a solution passes a test.
Every node starts at score 1, and for a fixed number of iterations (10) with damping d = 0.85:

    code(i) <- (1 - d) * code(i) + d * sum of test(j) over the tests j that solution i passes
    test(j) <- (1 - d) * test(j) + d * sum of code(i) over the solutions i that pass test j

so a solution gains from the trusted tests it passes and a test from the trusted solutions passing it.
(The paper writes out the solution update; the test update is its mirror image, as the paper's premise has
it: tests passed by more, better-trusted solutions are more reliable.)

What the paper leaves open, and what this module does:
  * Update order. Both sides are updated from the previous iteration's scores ("simultaneous", Jacobi
    style); `update="sequential"` updates the tests from the freshly updated solution scores instead.
  * Normalisation. The paper normalises nothing, so raw scores grow geometrically (about (d * degree)^10).
    The update is linear and homogeneous, so dividing every score (both sides, one common factor) by the
    current maximum after each iteration leaves every ratio, and hence the ranking, exactly as the raw
    update would; it only keeps the numbers in float range. Normalising each side separately (HITS style)
    would change the ranking and is not done.
  * Duplicate tests. A deduplicated test sampled c times contributes c * test(j) to each solution passing
    it (pass `test_counts`), which reproduces the graph with the c copies kept as separate nodes.
  * Ties. Solutions with identical pass rows get identical scores; `order` breaks ties with a seeded random
    permutation, and `groups` holds these execution-equivalence classes (the top one is the group the
    efficiency step times).
  * Confidence. For the top solution, the share of all solution score held by its group (the solutions
    that behave exactly like it), which is absolute, not relative to the problem's best: when one behaviour
    gathers most of the trust it is high, when trust is spread over many small clusters it is low. Every
    other solution gets that share scaled by its score over the top score, so confidence is monotone in the
    ranking (a lower-ranked solution is never trusted more, which the trust gate relies on); 0 for a
    solution that passes nothing.

`formulation="pagerank"` runs classic PageRank instead (teleport (1 - d) / n, each node's score shared over
its weighted degree, dangling mass spread uniformly, start 1 / n): that is what `networkx.pagerank` computes
on the same undirected graph (`build_graph`), and tests check the two agree. `scores_on_graph` runs the
paper's update node by node on the networkx graph, as a readable reference for the vectorised ranker.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from codepref.rank import Ranking, as_pass_matrix, order_by_score, pass_pattern_groups, weights_for_tests

FORMULATIONS = ("paper", "pagerank")
UPDATES = ("simultaneous", "sequential")


def rank_codedpo(
    passed: np.ndarray,
    *,
    test_counts: np.ndarray | None = None,
    seed: int = 0,
    damping: float = 0.85,
    iterations: int = 10,
    formulation: str = "paper",
    update: str = "simultaneous",
) -> Ranking:
    """Rank solutions by their self-validation score on the solution/test graph."""
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation must be one of {FORMULATIONS}, got {formulation!r}")
    if update not in UPDATES:
        raise ValueError(f"update must be one of {UPDATES}, got {update!r}")
    if not 0.0 <= damping <= 1.0:
        raise ValueError(f"damping must lie in [0, 1], got {damping}")
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    matrix = as_pass_matrix(passed)
    weights = weights_for_tests(test_counts, matrix.shape[1])

    # Solutions with the same pass row always share a score, so iterate on distinct rows only.
    patterns, group_of = pass_pattern_groups(matrix)
    multiplicity = np.bincount(group_of, minlength=len(patterns)).astype(np.float64)
    edges = patterns.astype(np.float64)
    if formulation == "paper":
        code, test = _paper_scores(edges, multiplicity, weights, damping, iterations, update)
    else:
        code, test = _pagerank_scores(edges, multiplicity, weights, damping, iterations)

    scores = code[group_of]
    confidence = _confidence(scores, code * multiplicity, group_of, matrix.any(axis=1))
    return Ranking(
        solution_scores=scores,
        order=order_by_score(scores, seed),
        test_scores=test,
        confidence=np.clip(confidence, 0.0, 1.0),
        groups=group_of,
    )


def _confidence(
    scores: np.ndarray, group_mass: np.ndarray, group_of: np.ndarray, passes_any: np.ndarray
) -> np.ndarray:
    """Trust in each solution: the top group's share of all solution score, scaled by score / top score.

    The top solution's confidence is the share of the total score its group holds (a large consensus
    scores high); every other solution's is that share times its score relative to the top, so confidence
    never contradicts the ranking (a lower-ranked solution never has higher confidence than a higher one).
    A solution that passes no sampled test has none.
    """
    total = scores.sum()
    if total <= 0 or scores.size == 0:
        return np.zeros_like(scores)
    top = int(np.argmax(scores))
    share = group_mass[group_of[top]] / total
    return np.where(passes_any, share * scores / scores[top], 0.0)


def _paper_scores(
    edges: np.ndarray,
    multiplicity: np.ndarray,
    weights: np.ndarray,
    damping: float,
    iterations: int,
    update: str,
) -> tuple[np.ndarray, np.ndarray]:
    code = np.ones(edges.shape[0])
    test = np.ones(edges.shape[1])
    for _ in range(iterations):
        new_code = (1 - damping) * code + damping * (edges @ (weights * test))
        source = new_code if update == "sequential" else code
        new_test = (1 - damping) * test + damping * (edges.T @ (multiplicity * source))
        # One common factor for both sides: rank-preserving, see the module docstring.
        scale = max(new_code.max(initial=0.0), new_test.max(initial=0.0))
        code, test = (new_code / scale, new_test / scale) if scale > 0 else (new_code, new_test)
    return code, test


def _pagerank_scores(
    edges: np.ndarray, multiplicity: np.ndarray, weights: np.ndarray, damping: float, iterations: int
) -> tuple[np.ndarray, np.ndarray]:
    num_nodes = multiplicity.sum() + edges.shape[1]
    code_degree = edges @ weights  # weighted degree of one solution of each pattern
    test_degree = weights * (multiplicity @ edges)  # edge weight times the number of solutions passing
    code = np.full(edges.shape[0], 1.0 / num_nodes)
    test = np.full(edges.shape[1], 1.0 / num_nodes)
    for _ in range(iterations):
        code_share = np.divide(code, code_degree, out=np.zeros_like(code), where=code_degree > 0)
        test_share = np.divide(test, test_degree, out=np.zeros_like(test), where=test_degree > 0)
        dangling = (multiplicity * code)[code_degree == 0].sum() + test[test_degree == 0].sum()
        base = (1 - damping) / num_nodes + damping * dangling / num_nodes
        new_code = base + damping * (edges @ (weights * test_share))
        new_test = base + damping * weights * (edges.T @ (multiplicity * code_share))
        code, test = new_code, new_test
    return code, test


def build_graph(passed: np.ndarray, test_counts: np.ndarray | None = None) -> nx.Graph:
    """The undirected solution/test graph: nodes ("code", i) and ("test", j), an edge where i passes j.

    Edge weight is the test's sample count, so weighted algorithms treat a deduplicated test as its copies.
    """
    matrix = as_pass_matrix(passed)
    weights = weights_for_tests(test_counts, matrix.shape[1])
    graph = nx.Graph()
    graph.add_nodes_from((("code", i) for i in range(matrix.shape[0])), bipartite=0)
    graph.add_nodes_from((("test", j) for j in range(matrix.shape[1])), bipartite=1)
    solution_idx, test_idx = np.nonzero(matrix)
    graph.add_weighted_edges_from(
        (("code", int(i)), ("test", int(j)), float(weights[j]))
        for i, j in zip(solution_idx, test_idx, strict=True)
    )
    return graph


def scores_on_graph(
    graph: nx.Graph, *, damping: float = 0.85, iterations: int = 10
) -> dict[tuple[str, int], float]:
    """The paper's simultaneous update, node by node on a `build_graph` graph (raw, unnormalised scores)."""
    score = dict.fromkeys(graph.nodes, 1.0)
    for _ in range(iterations):
        score = {
            node: (1 - damping) * score[node] + damping * _neighbour_sum(graph, node, score) for node in graph
        }
    return score


def _neighbour_sum(graph: nx.Graph, node: tuple[str, int], score: dict[tuple[str, int], float]) -> float:
    # A solution counts each passed test as many times as it was sampled; a test counts each solution once.
    if node[0] == "code":
        return sum(data["weight"] * score[other] for other, data in graph.adj[node].items())
    return sum(score[other] for other in graph.adj[node])
