"""Metrics through ogb's official ``Evaluator`` classes (plus MAE, which ogb has no evaluator for).

Every score a run reports is computed by the same code that scores the OGB leaderboards: accuracy, ROC-AUC,
AP and RMSE by ``ogb.nodeproppred``/``ogb.graphproppred``; Hits@K, MRR and link ROC-AUC by
``ogb.linkproppred``. Top-K recommendation (ogb has no evaluator for it) is scored by :func:`ranking_scores`:
full-ranking Recall@K and NDCG@K (LightGCN's definitions, ``graphkit.data.recsys``). ``metric_mode`` says which
way each of these metrics improves; a task declares it in its ``monitor``, which drives model selection and early
stopping.

>>> metric_mode("rmse"), metric_mode("hits@20"), metric_mode("ndcg@20")
('min', 'max', 'max')
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor

from graphkit.datasets.ogb import official_evaluator

__all__ = ["metric_mode", "METRIC_MODES", "prediction_scores", "link_scores", "ranking_scores", "mae", "LINK_HITS"]

# The direction of every metric this module reports (Hits@K is "max" for every K).
METRIC_MODES = {"acc": "max", "rocauc": "max", "auc": "max", "ap": "max", "mrr": "max", "rmse": "min",
                "mae": "min"}
LINK_HITS = (10, 20, 50, 100)
# Beyond this many (positive, negative) pairs the all-pairs MRR matrix is skipped (it is O(P * N) memory).
_MRR_PAIRS_MAX = 20_000_000


def metric_mode(metric: str) -> str:
    """``"max"`` or ``"min"``: how ``metric`` (one this module computes) improves; other names raise ValueError."""
    if metric in METRIC_MODES:
        return METRIC_MODES[metric]
    name, _, k = metric.partition("@")
    if name in ("hits", "recall", "ndcg") and k.isdigit():
        return "max"
    raise ValueError(f"metric {metric!r} has no known direction; known: {', '.join(sorted(METRIC_MODES))}, "
                     "hits@K, recall@K, ndcg@K (declare the direction yourself in Task.monitor)")


def mae(y_true: Tensor, y_pred: Tensor) -> float:
    """Mean absolute error over the labelled (non-NaN) entries."""
    mask = ~torch.isnan(y_true)
    return float((y_pred[mask] - y_true[mask]).abs().mean()) if mask.any() else float("nan")


def prediction_scores(kind: str, task_type: str, metric: str, y_true: Tensor, y_out: Tensor) -> Dict[str, float]:
    """Scores of node or graph predictions (``kind`` "ogbn" or "ogbg").

    Args:
        task_type: ogb's "multiclass classification", "binary classification" or "regression".
        metric: the data set's ``eval_metric`` (acc, rocauc, ap, rmse), always reported first.
        y_true: labels ``[n, tasks]`` (class ids for multiclass, 0/1/NaN for binary, values for regression).
        y_out: the model's raw output: logits ``[n, classes]`` (multiclass), ``[n, tasks]`` otherwise.
    """
    y_true, y_out = y_true.detach().cpu(), y_out.detach().float().cpu()
    tasks = y_true.size(1) if y_true.dim() > 1 else 1
    y_true = y_true.view(-1, tasks)
    if task_type == "multiclass classification":
        pred = y_out.argmax(dim=-1, keepdim=True)
        ev = official_evaluator(kind, "acc", tasks)
        return {"acc": float(ev.eval({"y_true": y_true, "y_pred": pred})["acc"])}
    if task_type == "regression":
        ev = official_evaluator(kind, "rmse", tasks)
        return {"rmse": float(ev.eval({"y_true": y_true, "y_pred": y_out})["rmse"]), "mae": mae(y_true, y_out)}
    out: Dict[str, float] = {}
    ev = official_evaluator(kind, metric if metric in ("rocauc", "ap") else "rocauc", tasks)
    try:
        out[ev.eval_metric] = float(ev.eval({"y_true": y_true, "y_pred": y_out})[ev.eval_metric])
    except RuntimeError:  # ogb refuses when no task has both classes in this split (tiny splits)
        out[ev.eval_metric] = float("nan")
    labelled = ~torch.isnan(y_true.float())
    hit = ((y_out > 0).float() == y_true.float()) & labelled
    out["acc"] = float(hit.sum() / labelled.sum().clamp(min=1))
    return out


def link_scores(metric: str, pos: Tensor, neg: Tensor, hits: Sequence[int] = LINK_HITS) -> Dict[str, float]:
    """Hits@K, MRR and ROC-AUC of positive scores ``pos [P]`` against negatives ``neg``.

    ``neg`` is ``[Q]`` (one shared pool, as in ogbl-collab/ddi/ppa; MRR then ranks each positive against the
    whole pool) or ``[P, Q]`` (per-positive negatives, as in ogbl-citation2; Hits@K is then not defined by ogb
    and only MRR and its hits@1/3/10 are reported). ``metric`` comes first in the result.
    """
    pos, neg = pos.detach().float().cpu().view(-1), neg.detach().float().cpu()
    out: Dict[str, float] = {}
    if neg.dim() == 1:
        for k in sorted(set(hits) | ({int(metric.split("@")[1])} if metric.startswith("hits@") else set())):
            out[f"hits@{k}"] = float(official_evaluator("ogbl", f"hits@{k}").eval(
                {"y_pred_pos": pos, "y_pred_neg": neg})[f"hits@{k}"])
        out["auc"] = float(official_evaluator("ogbl", "rocauc").eval({"y_pred_pos": pos, "y_pred_neg": neg})["rocauc"])
        small = pos.numel() * neg.numel() <= _MRR_PAIRS_MAX
        neg2: Optional[Tensor] = neg.view(1, -1).expand(pos.numel(), -1) if small else None
    else:
        neg2 = neg
    if neg2 is not None:
        res = official_evaluator("ogbl", "mrr").eval({"y_pred_pos": pos, "y_pred_neg": neg2})
        out["mrr"] = float(res["mrr_list"].mean())
        if neg.dim() == 2:
            out.update({k[:-5]: float(v.mean()) for k, v in res.items() if k.startswith("hits@")})
    main = {"rocauc": "auc"}.get(metric, metric)
    return {metric: out[main], **{k: v for k, v in out.items() if k != main}} if main in out else out


def ranking_scores(scores: Tensor, target: Tuple[Tensor, Tensor], seen: Optional[Tuple[Tensor, Tensor]] = None,
                   k: int = 20) -> Dict[str, float]:
    """Full-ranking ``recall@k`` and ``ndcg@k`` of a score matrix against held-out ``(users, items)`` pairs.

    Every item is ranked for every user (no sampled candidates); the ``seen`` pairs (the interactions the model
    trained on, and for test the validation ones too) are removed from the candidates first, so a model is never
    credited for recommending what the user already has. Users without a ``target`` pair are left out of the mean.

    Shapes:
        scores ``(U, I)``; target and seen: two ``(M,)`` int64 tensors each (user ids, item ids)

    >>> s = torch.tensor([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    >>> ranking_scores(s, (torch.tensor([0, 1]), torch.tensor([1, 2])), (torch.tensor([0]), torch.tensor([0])), k=1)
    {'recall@1': 1.0, 'ndcg@1': 1.0}
    """
    from graphkit.data.recsys import ndcg_at_k, recall_at_k, top_k_items

    top = top_k_items(scores.detach().float().cpu(), k, *(seen if seen is not None else (None, None)))
    return {f"recall@{k}": recall_at_k(top, *target, k), f"ndcg@{k}": ndcg_at_k(top, *target, k)}
