#!/usr/bin/env python3
"""Fits the polynomial of the SIMD exp in src/kernels/activation_x86_impl.h.

exp(r) ~ 1 + r + r^2 * q(r) on [-ln2/2, ln2/2], q of degree 4, with the coefficients of q
chosen by a Remez exchange to minimize the largest relative error of exp. Needs mpmath
(Debian python3-mpmath); prints the levelled error and c2..c6.
"""
import mpmath as mp

mp.mp.dps = 50
DEGREE = 4
LO, HI = -mp.log(2) / 2, mp.log(2) / 2
GRID = 4000


def target(r):  # what q must approximate
    return (mp.exp(r) - 1 - r) / r**2 if r != 0 else mp.mpf(1) / 2


def weight(r):  # relative error of exp = weight * (q - target)
    return r**2 / mp.exp(r)


def error(coeffs, r):
    return weight(r) * (mp.polyval(coeffs[::-1], r) - target(r))


def main():
    n = DEGREE + 2  # reference points: coefficients plus the levelled error
    ref = [(LO + HI) / 2 - (HI - LO) / 2 * mp.cos(mp.pi * i / (n - 1)) for i in range(n)]
    grid = [LO + (HI - LO) * k / GRID for k in range(GRID + 1)]
    for _ in range(30):
        # weight(r_i) * (q(r_i) - target(r_i)) = (-1)^i * h at each reference point.
        a = mp.matrix(n, n)
        b = mp.matrix(n, 1)
        for i, r in enumerate(ref):
            for j in range(DEGREE + 1):
                a[i, j] = weight(r) * r**j
            a[i, DEGREE + 1] = -((-1) ** i)
            b[i] = weight(r) * target(r)
        solution = mp.lu_solve(a, b)
        coeffs = [solution[j] for j in range(DEGREE + 1)]
        levelled = abs(solution[DEGREE + 1])
        # Next reference: the largest error of each run of one sign.
        runs = []
        for r in grid:
            e = error(coeffs, r)
            if e == 0:
                continue
            if runs and (runs[-1][1] > 0) == (e > 0):
                if abs(e) > abs(runs[-1][1]):
                    runs[-1] = (r, e)
            else:
                runs.append((r, e))
        while len(runs) > n:
            runs.pop(0 if abs(runs[0][1]) < abs(runs[-1][1]) else -1)
        ref = [r for r, _ in runs]
    print("levelled relative error", mp.nstr(levelled, 5))
    for i, c in enumerate(coeffs):
        print(f"c{i + 2} = {float(c)!r}")


if __name__ == "__main__":
    main()
