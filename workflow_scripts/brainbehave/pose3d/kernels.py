"""Compiled triangulation kernels (numba): undistortion, weighted DLT, reprojection, subsets.

Two kernels, both cached on disk (``cache=True``) so that only the first run on a machine pays
the compilation:

- :func:`solve_all` makes one pass over every point (frame x keypoint): skew-aware undistortion
  of each view, the likelihood-weighted DLT normal matrix, its homogeneous solution (unit-norm
  X, as aniposelib solves it, not the X4 = 1 shortcut) and the reprojection error of each view.
  Points are processed in blocks with the camera loop outside and the point loop inside, so the
  arithmetic of a block is straight-line code that LLVM can vectorise.
- :func:`refine_subsets` revisits only the points whose worst view exceeds the reprojection
  threshold: it triangulates every camera pair, keeps the pair with most inliers and
  re-triangulates from those inliers.

Camera parameters are packed by :func:`pack_cameras` into one float64 row per camera.
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
def _undistort(cam, u, v, n_iter):
    yd = (v - cam[CY]) / cam[FY]
    xd = (u - cam[CX] - cam[SKEW] * yd) / cam[FX]
    k1, k2, p1, p2, k3 = cam[K1], cam[K2], cam[P1], cam[P2], cam[K3]
    x, y = xd, yd
    for _ in range(n_iter):
        r2 = x * x + y * y
        inv = 1.0 / (1.0 + r2 * (k1 + r2 * (k2 + r2 * k3)))
        x = (xd - 2.0 * p1 * x * y - p2 * (r2 + 2.0 * x * x)) * inv
        y = (yd - p1 * (r2 + 2.0 * y * y) - 2.0 * p2 * x * y) * inv
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
def _accumulate(m, j, cam, x, y, w):
    """Add the two weighted DLT rows of one view (normalised x, y) to normal matrix m[:, j]."""
    for row in range(2):
        q = x if row == 0 else y
        a0 = w * (q * cam[ROT + 6] - cam[ROT + 3 * row])
        a1 = w * (q * cam[ROT + 7] - cam[ROT + 3 * row + 1])
        a2 = w * (q * cam[ROT + 8] - cam[ROT + 3 * row + 2])
        a3 = w * (q * cam[TRA + 2] - cam[TRA + row])
        m[0 * BLOCK + j] += a0 * a0
        m[1 * BLOCK + j] += a0 * a1
        m[2 * BLOCK + j] += a0 * a2
        m[3 * BLOCK + j] += a0 * a3
        m[4 * BLOCK + j] += a1 * a1
        m[5 * BLOCK + j] += a1 * a2
        m[6 * BLOCK + j] += a1 * a3
        m[7 * BLOCK + j] += a2 * a2
        m[8 * BLOCK + j] += a2 * a3
        m[9 * BLOCK + j] += a3 * a3


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _accumulate_block(m, cam, x, y, w, size):
    """`_accumulate` over a block, camera parameters in locals so the loop vectorises."""
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
def _smallest_eigvec(m, j, n_iter):
    """Unit eigenvector of the smallest eigenvalue of the 4x4 normal matrix m[:, j] -> X/X4.

    Starts from the X4 = 1 solution (adj(M) e4), then Rayleigh-quotient iterations
    v <- adj(M - sigma I) v, sigma = v'Mv (cubic convergence). The adjugate stays defined when
    M - sigma I is singular, which is exactly where the iteration is heading.
    """
    a00, a01, a02, a03 = m[0 * BLOCK + j], m[1 * BLOCK + j], m[2 * BLOCK + j], m[3 * BLOCK + j]
    a11, a12, a13, a22, a23, a33 = (
        m[4 * BLOCK + j],
        m[5 * BLOCK + j],
        m[6 * BLOCK + j],
        m[7 * BLOCK + j],
        m[8 * BLOCK + j],
        m[9 * BLOCK + j],
    )
    v0, v1, v2, v3 = 0.0, 0.0, 0.0, 1.0
    sigma = 0.0
    for _ in range(n_iter + 1):
        y0, y1, y2, y3 = _adj_times(
            a00 - sigma,
            a01,
            a02,
            a03,
            a11 - sigma,
            a12,
            a13,
            a22 - sigma,
            a23,
            a33 - sigma,
            v0,
            v1,
            v2,
            v3,
        )
        inv_norm = 1.0 / np.sqrt(y0 * y0 + y1 * y1 + y2 * y2 + y3 * y3)
        v0, v1, v2, v3 = y0 * inv_norm, y1 * inv_norm, y2 * inv_norm, y3 * inv_norm
        sigma = (
            a00 * v0 * v0
            + a11 * v1 * v1
            + a22 * v2 * v2
            + a33 * v3 * v3
            + 2.0 * (a01 * v0 * v1 + a02 * v0 * v2 + a03 * v0 * v3)
            + 2.0 * (a12 * v1 * v2 + a13 * v1 * v3 + a23 * v2 * v3)
        )
    return v0 / v3, v1 / v3, v2 / v3


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _load_views(pu, pv, lik, cam, min_lik, start, size, w, xd, yd):
    """Block scratch of one camera: weights (0 for invalid views) and undistortion start."""
    fx, fy, cx, cy, skew = cam[FX], cam[FY], cam[CX], cam[CY], cam[SKEW]
    for i in range(size):
        u, v, wi = pu[i], pv[i], lik[start + i]
        # NaN fails every comparison; '&' rather than 'and' keeps the loop branch-free
        ok = (u == u) & (v == v) & (wi >= min_lik) & (wi > 0.0)
        w[i] = wi if ok else 0.0
        u = u if ok else cx
        v = v if ok else cy
        yd[i] = (v - cy) / fy
        xd[i] = (u - cx - skew * yd[i]) / fx


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _undistort_block(cam, xd, yd, x, y, size, n_iter):
    """Fixed-point undistortion of a block, to convergence (mean change 1e-15) or n_iter steps.

    The iteration loop is outside the point loop so that the point loop vectorises.
    """
    k1, k2, p1, p2, k3 = cam[K1], cam[K2], cam[P1], cam[P2], cam[K3]
    for i in range(size):
        x[i], y[i] = xd[i], yd[i]
    if k1 == 0.0 and k2 == 0.0 and k3 == 0.0 and p1 == 0.0 and p2 == 0.0:
        return
    for _ in range(n_iter):
        change = 0.0
        for i in range(size):
            xi, yi = x[i], y[i]
            r2 = xi * xi + yi * yi
            inv = 1.0 / (1.0 + r2 * (k1 + r2 * (k2 + r2 * k3)))
            xn = (xd[i] - 2.0 * p1 * xi * yi - p2 * (r2 + 2.0 * xi * xi)) * inv
            yn = (yd[i] - p1 * (r2 + 2.0 * yi * yi) - 2.0 * p2 * xi * yi) * inv
            change += abs(xn - xi) + abs(yn - yi)
            x[i], y[i] = xn, yn
        if change < 1e-15 * size:
            break


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _solve_block(m, v, size, n_iter):
    """Block version of `_smallest_eigvec`: v (4, BLOCK) out, iterations outside the point loop."""
    for i in range(size):
        v[0 * BLOCK + i], v[1 * BLOCK + i], v[2 * BLOCK + i], v[3 * BLOCK + i] = 0.0, 0.0, 0.0, 1.0
        v[4 * BLOCK + i] = 0.0  # sigma
    for _ in range(n_iter + 1):
        for i in range(size):
            sg = v[4 * BLOCK + i]
            a00, a01, a02, a03 = (
                m[0 * BLOCK + i],
                m[1 * BLOCK + i],
                m[2 * BLOCK + i],
                m[3 * BLOCK + i],
            )
            a11, a12, a13, a22, a23, a33 = (
                m[4 * BLOCK + i],
                m[5 * BLOCK + i],
                m[6 * BLOCK + i],
                m[7 * BLOCK + i],
                m[8 * BLOCK + i],
                m[9 * BLOCK + i],
            )
            y0, y1, y2, y3 = _adj_times(
                a00 - sg,
                a01,
                a02,
                a03,
                a11 - sg,
                a12,
                a13,
                a22 - sg,
                a23,
                a33 - sg,
                v[0 * BLOCK + i],
                v[1 * BLOCK + i],
                v[2 * BLOCK + i],
                v[3 * BLOCK + i],
            )
            inv_norm = 1.0 / np.sqrt(y0 * y0 + y1 * y1 + y2 * y2 + y3 * y3)
            v0, v1, v2, v3 = y0 * inv_norm, y1 * inv_norm, y2 * inv_norm, y3 * inv_norm
            v[0 * BLOCK + i], v[1 * BLOCK + i], v[2 * BLOCK + i], v[3 * BLOCK + i] = v0, v1, v2, v3
            v[4 * BLOCK + i] = (
                a00 * v0 * v0
                + a11 * v1 * v1
                + a22 * v2 * v2
                + a33 * v3 * v3
                + 2.0 * (a01 * v0 * v1 + a02 * v0 * v2 + a03 * v0 * v3)
                + 2.0 * (a12 * v1 * v2 + a13 * v1 * v3 + a23 * v2 * v3)
            )


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


@nb.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def solve_all(
    points, lik, cams, min_lik, n_undistort, n_eig, xyz, err, used, nviews, valid, conf, worst
):
    """Triangulate every point from all its valid views.

    Parameters
    ----------
    points : (C, N, 2) float64 distorted pixel coordinates (NaN = missing).
    lik : (C, N) float64 likelihoods; a view is valid if finite, > 0 and >= min_lik.
    cams : (C, 22) packed cameras.
    n_undistort, n_eig : most undistortion iterations; Rayleigh-quotient iterations.
    xyz : (N, 3) float64 out; NaN where fewer than 2 valid views.
    err : (C, N) float32 out; reprojection error in px of each valid view (NaN otherwise).
    used : (N,) uint32 out; bit c set if camera c took part (0 where xyz is NaN).
    nviews : (N,) uint8 out; number of valid views.
    valid : (C, N) bool out; the view passed the NaN/likelihood test.
    conf : (N,) float64 out; mean likelihood of the views used (NaN where xyz is NaN).
    worst : (N,) float32 out; largest reprojection error over the views used (0 if none).
    """
    n_cam, n = lik.shape
    m = np.empty(10 * BLOCK)
    v = np.empty(5 * BLOCK)
    w = np.empty((n_cam, BLOCK))
    xd, yd, x, y = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
    px, py, pz = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
    mask = np.empty(BLOCK, dtype=np.uint32)
    count = np.empty(BLOCK, dtype=np.uint8)
    wsum = np.empty(BLOCK)
    eb = np.empty(BLOCK)
    wb = np.empty(BLOCK)
    # planar copies of the block's pixels: interleaved x, y would stop the loops vectorising
    pu, pv = np.empty((n_cam, BLOCK)), np.empty((n_cam, BLOCK))
    for start in range(0, n, BLOCK):
        size = min(start + BLOCK, n) - start
        m[:] = 0.0
        for c in range(n_cam):
            for i in range(size):
                pu[c, i] = points[c, start + i, 0]
                pv[c, i] = points[c, start + i, 1]
        for c in range(n_cam):
            cam = cams[c]
            wc = w[c]
            _load_views(pu[c], pv[c], lik[c], cam, min_lik, start, size, wc, xd, yd)
            _undistort_block(cam, xd, yd, x, y, size, n_undistort)
            _accumulate_block(m, cam, x, y, wc, size)
        _solve_block(m, v, size, n_eig)
        mask[:size] = 0
        count[:size] = 0
        wsum[:size] = 0.0
        for c in range(n_cam):
            bit = np.uint32(1) << np.uint32(c)
            for i in range(size):
                ok = w[c, i] > 0.0
                mask[i] |= bit if ok else np.uint32(0)
                count[i] += 1 if ok else 0
                wsum[i] += w[c, i]
                valid[c, start + i] = ok
        for i in range(size):
            ok = count[i] >= 2
            px[i] = v[0 * BLOCK + i] / v[3 * BLOCK + i] if ok else np.nan
            py[i] = v[1 * BLOCK + i] / v[3 * BLOCK + i] if ok else np.nan
            pz[i] = v[2 * BLOCK + i] / v[3 * BLOCK + i] if ok else np.nan
        for i in range(size):
            p = start + i
            used[p] = mask[i] if count[i] >= 2 else np.uint32(0)
            nviews[p] = count[i]
            conf[p] = wsum[i] / count[i] if count[i] >= 2 else np.nan
            wb[i] = 0.0
            xyz[p, 0], xyz[p, 1], xyz[p, 2] = px[i], py[i], pz[i]
        for c in range(n_cam):
            # block scratch, then copied out: writing err directly stops vectorisation
            _reproject_block(cams[c], pu[c], pv[c], px, py, pz, w[c], size, eb, wb)
            ec = err[c]
            for i in range(size):
                ec[start + i] = eb[i]
        for i in range(size):
            worst[start + i] = wb[i]


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _zero(m):
    """Zero the normal matrix of slot 0 (the only one the per-point kernel uses)."""
    for k in range(10):
        m[k * BLOCK] = 0.0


@nb.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _view_error(cam, px, py, pz, u, v):
    pu, pv = _project(cam, px, py, pz)
    return np.sqrt((pu - u) ** 2 + (pv - v) ** 2)


@nb.njit(fastmath=_FASTMATH, error_model="numpy")
def _best_pair_inliers(points, p, cams, xn, wv, threshold, n_eig, m):
    """Bitmask and count of the inliers of the best camera pair of point p (0, 0 if none)."""
    n_cam = wv.shape[0]
    best_mask, best_count, best_sum = np.uint32(0), 0, np.inf
    for a in range(n_cam):
        for b in range(a + 1, n_cam):
            if wv[a] == 0.0 or wv[b] == 0.0:
                continue
            _zero(m)
            _accumulate(m, 0, cams[a], xn[a, 0], xn[a, 1], wv[a])
            _accumulate(m, 0, cams[b], xn[b, 0], xn[b, 1], wv[b])
            px, py, pz = _smallest_eigvec(m, 0, n_eig)
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


@nb.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def refine_subsets(
    points, lik, cams, min_lik, n_undistort, n_eig, threshold, idx, xyz, err, used, conf
):
    """Re-triangulate points ``idx`` from the inliers of their best camera pair.

    For each point every pair of valid views is triangulated and scored by its inliers (views
    whose reprojection error is below ``threshold`` px; ties go to the lower summed inlier
    error); the point is then triangulated from that pair's inliers. A point keeps its previous
    solution when no pair has both of its own views within the threshold. Arrays as in
    :func:`solve_all`, updated in place for the points in ``idx``.
    """
    n_cam = lik.shape[0]
    xn = np.empty((n_cam, 2))
    wv = np.empty(n_cam)
    m = np.empty(10 * BLOCK)
    for p in idx:
        for c in range(n_cam):
            wv[c] = lik[c, p] if used[p] & (np.uint32(1) << np.uint32(c)) else 0.0
            xn[c, 0], xn[c, 1] = _undistort(cams[c], points[c, p, 0], points[c, p, 1], n_undistort)
        best_mask, best_count = _best_pair_inliers(points, p, cams, xn, wv, threshold, n_eig, m)
        if best_count < 2:
            continue
        _zero(m)
        total_w = 0.0
        for c in range(n_cam):
            if best_mask & (np.uint32(1) << np.uint32(c)):
                _accumulate(m, 0, cams[c], xn[c, 0], xn[c, 1], wv[c])
                total_w += wv[c]
        px, py, pz = _smallest_eigvec(m, 0, n_eig)
        xyz[p, 0], xyz[p, 1], xyz[p, 2] = px, py, pz
        used[p] = best_mask
        conf[p] = total_w / best_count
        for c in range(n_cam):
            ec = _view_error(cams[c], px, py, pz, points[c, p, 0], points[c, p, 1])
            err[c, p] = ec if best_mask & (np.uint32(1) << np.uint32(c)) else np.nan
