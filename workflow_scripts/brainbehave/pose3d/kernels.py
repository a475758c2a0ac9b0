"""Compiled triangulation kernels (numba): undistortion, weighted DLT, reprojection, subsets.

Two kernels, both cached on disk (``cache=True``) so that only the first run on a machine pays
the compilation, and both parallel over chunks of points (``numba.prange``; the caller sets the
number of threads with ``numba.set_num_threads``):

- :func:`solve_all` makes one pass over every point (frame x keypoint): skew-aware undistortion
  of each view (Newton iterations), the likelihood-weighted DLT normal matrix, its homogeneous
  solution (unit-norm X, as aniposelib solves it, not the X4 = 1 shortcut) and the reprojection
  error of each view. Points are processed in blocks with the camera loop outside and the point
  loop inside, so the arithmetic of a block is straight-line code that LLVM can vectorise.
- :func:`refine_subsets` revisits only the points whose worst view exceeds the reprojection
  threshold: it triangulates every camera pair, keeps the pair with most inliers and
  re-triangulates from those inliers.

Every point's arithmetic depends only on its block (fixed boundaries, multiples of ``BLOCK``
from the first point), never on which thread ran it: results are identical for any number of
threads. Camera parameters are packed by :func:`pack_cameras` into one float64 row per camera.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba as nb
import numpy as np

from brainbehave.calibration import Camera

# Column layout of a packed camera row.
FX, FY, CX, CY, SKEW, K1, K2, P1, P2, K3 = range(10)
ROT = 10  # 9 entries, row-major world -> camera rotation
TRA = 19  # 3 entries, world -> camera translation
N_PARAMS = 22
BLOCK = 256
# Points per parallel task: a multiple of BLOCK (see the module docstring), large enough that
# the per-task scratch allocation is negligible, small enough to balance 2-16 threads.
CHUNK = 64 * BLOCK
REFINE_CHUNK = 64  # points per parallel task of refine_subsets
# Undistortion stops once a Newton pass moves the points of a block by less than this in all
# (normalised coordinates, ~1e-5 px): convergence is quadratic, so the error left is ~1e-16,
# rounding (measured on the virtual rig: 3 passes where the fixed-point iteration needs 8-12).
NEWTON_TOL = 1e-8
MAX_CAMERAS = 32  # the cameras-used bitmask is a uint32

# No 'nnan'/'ninf': the kernels test for NaN, and those flags would let LLVM delete the tests.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def pack_cameras(cameras: Sequence[Camera]) -> np.ndarray:
    """Pack cameras into a (C, 22) float64 array for the kernels."""
    packed = np.zeros((len(cameras), N_PARAMS))
    for c, cam in enumerate(cameras):
        k = cam.matrix
        packed[c, [FX, FY, CX, CY, SKEW]] = k[0, 0], k[1, 1], k[0, 2], k[1, 2], k[0, 1]
        packed[c, K1 : K3 + 1] = cam.dist
        packed[c, ROT : ROT + 9] = cam.rotation_matrix.ravel()
        packed[c, TRA : TRA + 3] = cam.tvec
    return packed


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _newton_step(k1, k2, p1, p2, k3, xd, yd, x, y):
    """One Newton step of the inverse lens model: (x, y) -> undistorted estimate, and |step|.

    Solves distort(x, y) = (xd, yd) for the Brown-Conrady model with its exact 2x2 Jacobian
    (symmetric): quadratic convergence, 3-4 steps where the fixed-point iteration OpenCV uses
    needs 8-12, each with one division as here.
    """
    xx, yy, xy = x * x, y * y, x * y
    r2 = xx + yy
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    d_radial = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)  # d radial / d r2
    fx = x * radial + 2.0 * p1 * xy + p2 * (r2 + 2.0 * xx) - xd
    fy = y * radial + p1 * (r2 + 2.0 * yy) + 2.0 * p2 * xy - yd
    jxx = radial + 2.0 * xx * d_radial + 2.0 * p1 * y + 6.0 * p2 * x
    jyy = radial + 2.0 * yy * d_radial + 6.0 * p1 * y + 2.0 * p2 * x
    jxy = 2.0 * xy * d_radial + 2.0 * p1 * x + 2.0 * p2 * y
    inv_det = 1.0 / (jxx * jyy - jxy * jxy)
    dx = (jyy * fx - jxy * fy) * inv_det
    dy = (jxx * fy - jxy * fx) * inv_det
    return x - dx, y - dy, abs(dx) + abs(dy)


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _undistort(cam, u, v, n_iter):
    """Undistort one pixel to normalised coordinates (as `_undistort_block`, one point)."""
    yd = (v - cam[CY]) / cam[FY]
    xd = (u - cam[CX] - cam[SKEW] * yd) / cam[FX]
    k1, k2, p1, p2, k3 = cam[K1], cam[K2], cam[P1], cam[P2], cam[K3]
    x, y = xd, yd
    if k1 == 0.0 and k2 == 0.0 and k3 == 0.0 and p1 == 0.0 and p2 == 0.0:
        return x, y
    for _ in range(n_iter):
        x, y, step = _newton_step(k1, k2, p1, p2, k3, xd, yd, x, y)
        if step < NEWTON_TOL:
            break
    return x, y


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _project(cam, px, py, pz):
    xc = cam[ROT] * px + cam[ROT + 1] * py + cam[ROT + 2] * pz + cam[TRA]
    yc = cam[ROT + 3] * px + cam[ROT + 4] * py + cam[ROT + 5] * pz + cam[TRA + 1]
    zc = cam[ROT + 6] * px + cam[ROT + 7] * py + cam[ROT + 8] * pz + cam[TRA + 2]
    x = xc / zc
    y = yc / zc
    r2 = x * x + y * y
    radial = 1.0 + r2 * (cam[K1] + r2 * (cam[K2] + r2 * cam[K3]))
    xd = x * radial + 2.0 * cam[P1] * x * y + cam[P2] * (r2 + 2.0 * x * x)
    yd = y * radial + cam[P1] * (r2 + 2.0 * y * y) + 2.0 * cam[P2] * x * y
    u = cam[FX] * xd + cam[SKEW] * yd + cam[CX]
    v = cam[FY] * yd + cam[CY]
    # behind the camera: no image point (as Camera.project)
    return (u, v) if zc > 0.0 else (np.nan, np.nan)


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _accumulate_block(m, cam, x, y, w, size):
    """Add the two weighted DLT rows (x P3 - P1, y P3 - P2) of each view of a block to m."""
    q00, q01, q02 = cam[ROT], cam[ROT + 1], cam[ROT + 2]
    q10, q11, q12 = cam[ROT + 3], cam[ROT + 4], cam[ROT + 5]
    q20, q21, q22 = cam[ROT + 6], cam[ROT + 7], cam[ROT + 8]
    t0, t1, t2 = cam[TRA], cam[TRA + 1], cam[TRA + 2]
    for i in range(size):
        wi, xi, yi = w[i], x[i], y[i]
        a0, a1, a2, a3 = (
            wi * (xi * q20 - q00),
            wi * (xi * q21 - q01),
            wi * (xi * q22 - q02),
            wi * (xi * t2 - t0),
        )
        b0, b1, b2, b3 = (
            wi * (yi * q20 - q10),
            wi * (yi * q21 - q11),
            wi * (yi * q22 - q12),
            wi * (yi * t2 - t1),
        )
        m[0 * BLOCK + i] += a0 * a0 + b0 * b0
        m[1 * BLOCK + i] += a0 * a1 + b0 * b1
        m[2 * BLOCK + i] += a0 * a2 + b0 * b2
        m[3 * BLOCK + i] += a0 * a3 + b0 * b3
        m[4 * BLOCK + i] += a1 * a1 + b1 * b1
        m[5 * BLOCK + i] += a1 * a2 + b1 * b2
        m[6 * BLOCK + i] += a1 * a3 + b1 * b3
        m[7 * BLOCK + i] += a2 * a2 + b2 * b2
        m[8 * BLOCK + i] += a2 * a3 + b2 * b3
        m[9 * BLOCK + i] += a3 * a3 + b3 * b3


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _adj_times(a00, a01, a02, a03, a11, a12, a13, a22, a23, a33, v0, v1, v2, v3):
    """adj(A) v for a symmetric 4x4 A: (A - sigma I)^-1 v up to scale, defined even if singular."""
    s0 = a00 * a11 - a01 * a01
    s1 = a00 * a12 - a01 * a02
    s2 = a00 * a13 - a01 * a03
    s3 = a01 * a12 - a11 * a02
    s4 = a01 * a13 - a11 * a03
    s5 = a02 * a13 - a12 * a03
    c5 = a22 * a33 - a23 * a23
    c4 = a12 * a33 - a13 * a23
    c3 = a12 * a23 - a13 * a22
    c2 = a02 * a33 - a03 * a23
    c1 = a02 * a23 - a03 * a22
    b00 = a11 * c5 - a12 * c4 + a13 * c3
    b01 = -a01 * c5 + a02 * c4 - a03 * c3
    b02 = a13 * s5 - a23 * s4 + a33 * s3
    b03 = -a12 * s5 + a22 * s4 - a23 * s3
    b11 = a00 * c5 - a02 * c2 + a03 * c1
    b12 = -a03 * s5 + a23 * s2 - a33 * s1
    b13 = a02 * s5 - a22 * s2 + a23 * s1
    b22 = a03 * s4 - a13 * s2 + a33 * s0
    b23 = -a02 * s4 + a12 * s2 - a23 * s0
    b33 = a02 * s3 - a12 * s1 + a22 * s0
    y0 = b00 * v0 + b01 * v1 + b02 * v2 + b03 * v3
    y1 = b01 * v0 + b11 * v1 + b12 * v2 + b13 * v3
    y2 = b02 * v0 + b12 * v1 + b22 * v2 + b23 * v3
    y3 = b03 * v0 + b13 * v1 + b23 * v2 + b33 * v3
    return y0, y1, y2, y3


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _load_views(pu, pv, lk, cam, min_lik, size, w, xd, yd):
    """Block scratch of one camera: weights (0 for invalid views) and undistortion start."""
    fx, fy, cx, cy, skew = cam[FX], cam[FY], cam[CX], cam[CY], cam[SKEW]
    for i in range(size):
        u, v, wi = pu[i], pv[i], lk[i]
        # NaN fails every comparison; '&' rather than 'and' keeps the loop branch-free
        ok = (u == u) & (v == v) & (wi >= min_lik) & (wi > 0.0)
        w[i] = wi if ok else 0.0
        u = u if ok else cx
        v = v if ok else cy
        yd[i] = (v - cy) / fy
        xd[i] = (u - cx - skew * yd[i]) / fx


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _undistort_block(cam, xd, yd, x, y, size, n_iter):
    """Newton undistortion of a block, until no point moves by NEWTON_TOL, or n_iter steps.

    The iteration loop is outside the point loop so that the point loop vectorises.
    """
    k1, k2, p1, p2, k3 = cam[K1], cam[K2], cam[P1], cam[P2], cam[K3]
    for i in range(size):
        x[i], y[i] = xd[i], yd[i]
    if k1 == 0.0 and k2 == 0.0 and k3 == 0.0 and p1 == 0.0 and p2 == 0.0:
        return
    for _ in range(n_iter):
        total = 0.0  # a sum, not a max: sums vectorise; a sum below tol bounds every step
        for i in range(size):
            x[i], y[i], step = _newton_step(k1, k2, p1, p2, k3, xd[i], yd[i], x[i], y[i])
            total += step
        if total < NEWTON_TOL:
            break


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _solve_block(m, v, size, n_iter):
    """Unit eigenvector of the smallest eigenvalue of each 4x4 normal matrix of a block.

    m holds the 10 upper-triangle entries of each matrix (m[k * BLOCK + i]); v (5 x BLOCK) gets
    the eigenvector (rows 0-3) and its Rayleigh quotient (row 4). Starts from the X4 = 1
    solution (adj(M) e4), then one inverse iteration v <- adj(M) v, then Rayleigh-quotient
    iterations v <- adj(M - sigma I) v, sigma = v'Mv (cubic convergence). The adjugate stays
    defined when M - sigma I is singular, which is exactly where the iteration is heading.
    Iterations outside the point loop.
    """
    for i in range(size):  # adj(M) e4 (the X4 = 1 solution): the adjugate's last column only
        a00, a01, a02, a03 = m[i], m[BLOCK + i], m[2 * BLOCK + i], m[3 * BLOCK + i]
        a11, a12, a13 = m[4 * BLOCK + i], m[5 * BLOCK + i], m[6 * BLOCK + i]
        a22, a23 = m[7 * BLOCK + i], m[8 * BLOCK + i]
        s0, s1, s2 = a00 * a11 - a01 * a01, a00 * a12 - a01 * a02, a00 * a13 - a01 * a03
        s3, s4, s5 = a01 * a12 - a11 * a02, a01 * a13 - a11 * a03, a02 * a13 - a12 * a03
        y0 = -a12 * s5 + a22 * s4 - a23 * s3
        y1 = a02 * s5 - a22 * s2 + a23 * s1
        y2 = -a02 * s4 + a12 * s2 - a23 * s0
        y3 = a02 * s3 - a12 * s1 + a22 * s0
        _normalise_rayleigh(m, v, i, y0, y1, y2, y3)
    for it in range(n_iter):
        for i in range(size):
            # the first step is unshifted inverse iteration: it moves towards the smallest
            # eigenvalue whatever the start; shifted steps from a poor start (a view far off)
            # could settle on another eigenvector (28 mm off numpy's eigh at a 60 px outlier)
            sg = v[4 * BLOCK + i] if it > 0 else 0.0
            a00, a01, a02, a03 = m[i], m[BLOCK + i], m[2 * BLOCK + i], m[3 * BLOCK + i]
            a11, a12, a13 = m[4 * BLOCK + i], m[5 * BLOCK + i], m[6 * BLOCK + i]
            a22, a23, a33 = m[7 * BLOCK + i], m[8 * BLOCK + i], m[9 * BLOCK + i]
            y0, y1, y2, y3 = _adj_times(
                a00 - sg, a01, a02, a03, a11 - sg, a12, a13, a22 - sg, a23, a33 - sg,
                v[i], v[BLOCK + i], v[2 * BLOCK + i], v[3 * BLOCK + i],
            )  # fmt: skip
            _normalise_rayleigh(m, v, i, y0, y1, y2, y3)


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _normalise_rayleigh(m, v, i, y0, y1, y2, y3):
    """v[:4, i] <- y / |y| and v[4, i] <- its Rayleigh quotient with normal matrix i of m."""
    a00, a01, a02, a03 = m[i], m[BLOCK + i], m[2 * BLOCK + i], m[3 * BLOCK + i]
    a11, a12, a13 = m[4 * BLOCK + i], m[5 * BLOCK + i], m[6 * BLOCK + i]
    a22, a23, a33 = m[7 * BLOCK + i], m[8 * BLOCK + i], m[9 * BLOCK + i]
    inv_norm = 1.0 / np.sqrt(y0 * y0 + y1 * y1 + y2 * y2 + y3 * y3)
    v0, v1, v2, v3 = y0 * inv_norm, y1 * inv_norm, y2 * inv_norm, y3 * inv_norm
    v[i], v[BLOCK + i], v[2 * BLOCK + i], v[3 * BLOCK + i] = v0, v1, v2, v3
    v[4 * BLOCK + i] = (
        a00 * v0 * v0 + a11 * v1 * v1 + a22 * v2 * v2 + a33 * v3 * v3
        + 2.0 * (a01 * v0 * v1 + a02 * v0 * v2 + a03 * v0 * v3)
        + 2.0 * (a12 * v1 * v2 + a13 * v1 * v3 + a23 * v2 * v3)
    )  # fmt: skip


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _reproject_block(cam, pu, pv, px, py, pz, w, size, eb, wb):
    """Reprojection error (px) of a block in one camera into eb (NaN if w == 0); max into wb."""
    # parameters in locals: loads from `cam` inside the loop could alias the stores and
    # would keep LLVM from vectorising it
    r0, r1, r2_, r3, r4, r5, r6, r7, r8 = cam[ROT : ROT + 9]
    t0, t1, t2 = cam[TRA], cam[TRA + 1], cam[TRA + 2]
    k1, k2, k3, p1, p2 = cam[K1], cam[K2], cam[K3], cam[P1], cam[P2]
    fx, fy, cx, cy, skew = cam[FX], cam[FY], cam[CX], cam[CY], cam[SKEW]
    for i in range(size):
        xc = r0 * px[i] + r1 * py[i] + r2_ * pz[i] + t0
        yc = r3 * px[i] + r4 * py[i] + r5 * pz[i] + t1
        zc = r6 * px[i] + r7 * py[i] + r8 * pz[i] + t2
        iz = 1.0 / zc
        x = xc * iz
        y = yc * iz
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        du = fx * xd + skew * yd + cx - pu[i]
        dv = fy * yd + cy - pv[i]
        e = np.sqrt(du * du + dv * dv)
        # behind the camera there is no image point (as Camera.project): error NaN
        ok = (w[i] > 0.0) & (zc > 0.0)
        eb[i] = e if ok else np.nan
        wb[i] = e if ok & (e > wb[i]) else wb[i]


@nb.njit(fastmath=_FASTMATH, error_model="numpy")
def _solve_range(
    points, lik, cams, min_lik, n_undistort, n_eig, lo, hi,
    xyz, err, used, nviews, valid, conf, worst,
):  # fmt: skip
    """`solve_all` for points lo..hi (lo a multiple of BLOCK), with its own block scratch."""
    n_cam = cams.shape[0]
    has_lik = lik.shape[1] > 0
    m = np.empty(10 * BLOCK)
    v = np.empty(5 * BLOCK)
    w = np.empty((n_cam, BLOCK))
    xd, yd, x, y = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
    px, py, pz = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
    lk = np.ones(BLOCK)
    mask = np.empty(BLOCK, dtype=np.uint32)
    count = np.empty(BLOCK, dtype=np.uint8)
    wsum = np.empty(BLOCK)
    eb = np.empty(BLOCK)
    wb = np.empty(BLOCK)
    # planar copies of the block's pixels: interleaved x, y would stop the loops vectorising
    pu, pv = np.empty((n_cam, BLOCK)), np.empty((n_cam, BLOCK))
    # Arrays are read and written through views of the block (b[i], i from 0), never as
    # a[start + i]: an index LLVM cannot prove >= 0 keeps numba's negative-index wraparound,
    # which turns these loops into scalar code or gathers/scatters.
    for start in range(lo, hi, BLOCK):
        stop = min(start + BLOCK, hi)
        size = stop - start
        m[:] = 0.0
        for c in range(n_cam):
            pc = points[c, start:stop]
            for i in range(size):
                pu[c, i] = pc[i, 0]
                pv[c, i] = pc[i, 1]
        for c in range(n_cam):
            cam = cams[c]
            wc = w[c]
            if has_lik:  # else lk stays 1: no (C, N) array of ones to allocate and read
                lc = lik[c, start:stop]
                for i in range(size):
                    lk[i] = lc[i]
            _load_views(pu[c], pv[c], lk, cam, min_lik, size, wc, xd, yd)
            _undistort_block(cam, xd, yd, x, y, size, n_undistort)
            _accumulate_block(m, cam, x, y, wc, size)
        _solve_block(m, v, size, n_eig)
        mask[:size] = 0
        count[:size] = 0
        wsum[:size] = 0.0
        for c in range(n_cam):
            bit = np.uint32(1) << np.uint32(c)
            vc = valid[c, start:stop]
            for i in range(size):
                ok = w[c, i] > 0.0
                mask[i] |= bit if ok else np.uint32(0)
                count[i] += 1 if ok else 0
                wsum[i] += w[c, i]
                vc[i] = ok
        for i in range(size):
            ok = count[i] >= 2
            px[i] = v[0 * BLOCK + i] / v[3 * BLOCK + i] if ok else np.nan
            py[i] = v[1 * BLOCK + i] / v[3 * BLOCK + i] if ok else np.nan
            pz[i] = v[2 * BLOCK + i] / v[3 * BLOCK + i] if ok else np.nan
        used_b, nviews_b, conf_b = used[start:stop], nviews[start:stop], conf[start:stop]
        xyz_b = xyz[start:stop]
        for i in range(size):
            used_b[i] = mask[i] if count[i] >= 2 else np.uint32(0)
            nviews_b[i] = count[i]
            conf_b[i] = wsum[i] / count[i] if count[i] >= 2 else np.nan
            wb[i] = 0.0
            xyz_b[i, 0], xyz_b[i, 1], xyz_b[i, 2] = px[i], py[i], pz[i]
        for c in range(n_cam):
            # block scratch, then copied out: writing err directly stops vectorisation
            _reproject_block(cams[c], pu[c], pv[c], px, py, pz, w[c], size, eb, wb)
            ec = err[c, start:stop]
            for i in range(size):
                ec[i] = eb[i]
        worst_b = worst[start:stop]
        for i in range(size):
            worst_b[i] = wb[i]


@nb.njit(cache=True, parallel=True, fastmath=_FASTMATH, error_model="numpy")
def solve_all(
    points, lik, cams, min_lik, n_undistort, n_eig, xyz, err, used, nviews, valid, conf, worst
):
    """Triangulate every point from all its valid views, in parallel over chunks of points.

    Parameters
    ----------
    points : (C, N, 2) float64 distorted pixel coordinates (NaN = missing).
    lik : (C, N) float64 likelihoods, or (C, 0) for all ones; a view is valid if finite,
        > 0 and >= min_lik.
    cams : (C, 22) packed cameras.
    n_undistort, n_eig : most undistortion (Newton) iterations; Rayleigh-quotient iterations.
    xyz : (N, 3) float64 out; NaN where fewer than 2 valid views.
    err : (C, N) float32 out; reprojection error in px of each valid view (NaN otherwise).
    used : (N,) uint32 out; bit c set if camera c took part (0 where xyz is NaN).
    nviews : (N,) uint8 out; number of valid views.
    valid : (C, N) bool out; the view passed the NaN/likelihood test.
    conf : (N,) float64 out; mean likelihood of the views used (NaN where xyz is NaN).
    worst : (N,) float32 out; largest reprojection error over the views used (0 if none).
    """
    n = points.shape[1]
    for k in nb.prange((n + CHUNK - 1) // CHUNK):
        lo = k * CHUNK
        hi = min(lo + CHUNK, n)
        _solve_range(
            points, lik, cams, min_lik, n_undistort, n_eig, lo, hi,
            xyz, err, used, nviews, valid, conf, worst,
        )  # fmt: skip


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _point_of_slot0(m, v, n_eig):
    """Solve the normal matrix in slot 0 of m (the per-point kernels use only it): X / X4."""
    _solve_block(m, v, 1, n_eig)
    return v[0] / v[3 * BLOCK], v[BLOCK] / v[3 * BLOCK], v[2 * BLOCK] / v[3 * BLOCK]


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _view_error(cam, px, py, pz, u, v):
    pu, pv = _project(cam, px, py, pz)
    return np.sqrt((pu - u) ** 2 + (pv - v) ** 2)


@nb.njit(fastmath=_FASTMATH, error_model="numpy")
def _best_pair_inliers(points, p, cams, xs, ys, wv, threshold, n_eig, m, v):
    """Bitmask and count of the inliers of the best camera pair of point p (0, 0 if none)."""
    n_cam = wv.shape[0]
    best_mask, best_count, best_sum = np.uint32(0), 0, np.inf
    for a in range(n_cam):
        for b in range(a + 1, n_cam):
            if wv[a] == 0.0 or wv[b] == 0.0:
                continue
            m[: 10 * BLOCK : BLOCK] = 0.0
            for c in (a, b):
                _accumulate_block(m, cams[c], xs[c : c + 1], ys[c : c + 1], wv[c : c + 1], 1)
            px, py, pz = _point_of_slot0(m, v, n_eig)
            mask, count, total = np.uint32(0), 0, 0.0
            for c in range(n_cam):
                if wv[c] == 0.0:
                    continue
                ec = _view_error(cams[c], px, py, pz, points[c, p, 0], points[c, p, 1])
                if ec < threshold:
                    mask |= np.uint32(1) << np.uint32(c)
                    count += 1
                    total += ec
            pair = (np.uint32(1) << np.uint32(a)) | (np.uint32(1) << np.uint32(b))
            better = count > best_count or (count == best_count and total < best_sum)
            if (mask & pair) == pair and better:
                best_mask, best_count, best_sum = mask, count, total
    return best_mask, best_count


@nb.njit(fastmath=_FASTMATH, error_model="numpy")
def _refine_range(points, lik, cams, n_undistort, n_eig, threshold, idx, xyz, err, used, conf):
    """`refine_subsets` for the points idx (one parallel task), with its own scratch."""
    n_cam = cams.shape[0]
    has_lik = lik.shape[1] > 0
    xs, ys = np.empty(n_cam), np.empty(n_cam)  # undistorted views of the point
    wv = np.empty(n_cam)
    m = np.empty(10 * BLOCK)
    v = np.empty(5 * BLOCK)
    for p in idx:
        for c in range(n_cam):
            w = lik[c, p] if has_lik else 1.0
            wv[c] = w if used[p] & (np.uint32(1) << np.uint32(c)) else 0.0
            xs[c], ys[c] = _undistort(cams[c], points[c, p, 0], points[c, p, 1], n_undistort)
        best_mask, best_count = _best_pair_inliers(
            points, p, cams, xs, ys, wv, threshold, n_eig, m, v
        )
        if best_count < 2:
            continue
        m[: 10 * BLOCK : BLOCK] = 0.0
        total_w = 0.0
        for c in range(n_cam):
            if best_mask & (np.uint32(1) << np.uint32(c)):
                _accumulate_block(m, cams[c], xs[c : c + 1], ys[c : c + 1], wv[c : c + 1], 1)
                total_w += wv[c]
        px, py, pz = _point_of_slot0(m, v, n_eig)
        xyz[p, 0], xyz[p, 1], xyz[p, 2] = px, py, pz
        used[p] = best_mask
        conf[p] = total_w / best_count
        for c in range(n_cam):
            ec = _view_error(cams[c], px, py, pz, points[c, p, 0], points[c, p, 1])
            err[c, p] = ec if best_mask & (np.uint32(1) << np.uint32(c)) else np.nan


@nb.njit(cache=True, parallel=True, fastmath=_FASTMATH, error_model="numpy")
def refine_subsets(
    points, lik, cams, min_lik, n_undistort, n_eig, threshold, idx, xyz, err, used, conf
):
    """Re-triangulate points ``idx`` from the inliers of their best camera pair (in parallel).

    For each point every pair of valid views is triangulated and scored by its inliers (views
    whose reprojection error is below ``threshold`` px; ties go to the lower summed inlier
    error); the point is then triangulated from that pair's inliers. A point keeps its previous
    solution when no pair has both of its own views within the threshold. Arrays as in
    :func:`solve_all` (``min_lik`` is already applied through ``used``), updated in place for the
    points in ``idx``, which must not repeat.
    """
    n = idx.shape[0]
    for k in nb.prange((n + REFINE_CHUNK - 1) // REFINE_CHUNK):
        part = idx[k * REFINE_CHUNK : min((k + 1) * REFINE_CHUNK, n)]
        _refine_range(points, lik, cams, n_undistort, n_eig, threshold, part, xyz, err, used, conf)
