"""The rank-ordered mean: one summation order whatever the transport."""

from __future__ import annotations

import numpy as np
import pytest

from graphvar.distribute import NcclReducer, ObjectStoreReducer, SparseGrad, rank_ordered_mean


def test_sums_in_rank_order_then_divides():
    ranks = [[np.float32([1e8])], [np.float32([1.0])], [np.float32([-1e8])], [np.float32([1.0])]]
    got = rank_ordered_mean(ranks)[0]
    want = ((np.float32(1e8) + np.float32(1)) + np.float32(-1e8) + np.float32(1)) / np.float32(4)
    assert got.dtype == np.float32 and got.tobytes() == np.float32([want]).tobytes()
    other_order = (np.float32(1e8) + np.float32(-1e8) + np.float32(1) + np.float32(1)) / np.float32(4)
    assert want != other_order  # the order matters, and it is fixed


def test_inputs_are_not_modified_and_one_rank_is_itself():
    g = np.float32([1, 2, 3])
    assert rank_ordered_mean([[g]])[0].tobytes() == g.tobytes()
    rank_ordered_mean([[g], [g]])
    assert g.tolist() == [1, 2, 3]


def test_sparse_rows_summed_by_index_in_first_appearance_order():
    a = SparseGrad(np.float32([[1, 1], [2, 2]]), np.int32([5, 1]), (8, 2))
    b = SparseGrad(np.float32([[10, 10], [20, 20], [30, 30]]), np.int32([1, 7, 5]), (8, 2))
    got = rank_ordered_mean([[a], [b]])[0]
    assert got[1].tolist() == [5, 1, 7] and got[1].dtype == np.int32
    assert got[0].tolist() == [[15.5, 15.5], [6, 6], [10, 10]]
    assert got[2] == (8, 2)


def test_mismatched_ranks_are_refused():
    with pytest.raises(ValueError, match="rank 1 sent float32 \\(3,\\)"):
        rank_ordered_mean([[np.zeros(2, np.float32)], [np.zeros(3, np.float32)]])
    with pytest.raises(ValueError, match="different numbers"):
        rank_ordered_mean([[np.zeros(2)], []])
    with pytest.raises(ValueError, match="sparse on some ranks"):
        rank_ordered_mean([[SparseGrad(np.zeros((1, 2)), np.int32([0]), (3, 2))], [np.zeros((3, 2))]])


def test_reducers():
    assert ObjectStoreReducer().reduce([[np.float32([2])], [np.float32([4])]])[0].tolist() == [3]
    with pytest.raises(NotImplementedError, match="needs GPUs"):
        NcclReducer()
