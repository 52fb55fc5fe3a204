"""Published facts of the real competition data that the synthetic generator (``lanl.data.synth``) reproduces.

* The quake rows and cycle lengths of the real ``train.csv`` (629,145,480 rows, 16 quakes, 17 cycles; see
  ``../shared/lanl_real_labelled/README.md``): the first data row after each reset, the time_to_failure just
  after each reset (the length of the cycle it starts) and at the very first row.
* Three spectral shapes measured on the real signal, binned on ``SPECTRUM_EDGES`` (cycles per sample: 64 bins of
  width 1/512 up to 0.125, where the resonances are, then 24 wider ones). Each value is the mean periodogram
  ``|rfft(x - mean(x))|^2 / n`` over the bin, so the variance of a signal with that spectrum is its mean over
  frequency, ``2 * integral``. Measured by ``python3 benchmarks/calibrate_synth.py --measure-spectra`` (its
  ``measure_spectra`` says how) from the 16 real train windows just after a quake and the real test segments:

  - ``SPECTRUM_FLOOR``: the instrument floor, the same in every real window, quiet or active (variance ~6.3);
  - ``SPECTRUM_QUIET``: the resonances the background alone excites (the quiet windows just after a quake,
    less the floor; its first bin, the slow level changes between recording blocks, is left to the generator's
    block offsets);
  - ``SPECTRUM_ACTIVE``: what acoustic-emission activity adds (the test segments' median spectrum less the quiet
    one): it weighs the lower resonances (periods 20-50 samples) more than the quiet shape does, so a window's
    spectral shape moves with its activity, and activity with time_to_failure.
"""

from __future__ import annotations

REAL_ROWS = 629_145_480
REAL_QUAKE_ROWS = (
    5656574, 50085878, 104677356, 138772453, 187641820, 218652630, 245829585, 307838917,
    338276287, 375377848, 419368880, 461811623, 495800225, 528777115, 585568144, 621985673,
)  # fmt: skip
REAL_CYCLE_SECONDS = (
    11.54, 14.18, 8.86, 12.69, 8.06, 7.06, 16.11, 7.91, 9.64, 11.43, 11.02, 8.83, 8.57, 14.75, 9.46, 11.62,
)  # fmt: skip
REAL_FIRST_TTF = 1.4691

SPECTRUM_EDGES = (
    0, 0.001953, 0.003906, 0.005859, 0.007812, 0.009766, 0.01172, 0.01367, 0.01562, 0.01758, 0.01953,
    0.02148, 0.02344, 0.02539, 0.02734, 0.0293, 0.03125, 0.0332, 0.03516, 0.03711, 0.03906, 0.04102, 0.04297,
    0.04492, 0.04688, 0.04883, 0.05078, 0.05273, 0.05469, 0.05664, 0.05859, 0.06055, 0.0625, 0.06445,
    0.06641, 0.06836, 0.07031, 0.07227, 0.07422, 0.07617, 0.07812, 0.08008, 0.08203, 0.08398, 0.08594,
    0.08789, 0.08984, 0.0918, 0.09375, 0.0957, 0.09766, 0.09961, 0.1016, 0.1035, 0.1055, 0.1074, 0.1094,
    0.1113, 0.1133, 0.1152, 0.1172, 0.1191, 0.1211, 0.123, 0.125, 0.1406, 0.1562, 0.1719, 0.1875, 0.2031,
    0.2188, 0.2344, 0.25, 0.2656, 0.2812, 0.2969, 0.3125, 0.3281, 0.3438, 0.3594, 0.375, 0.3906, 0.4062,
    0.4219, 0.4375, 0.4531, 0.4688, 0.4844, 0.5,
)  # fmt: skip
SPECTRUM_FLOOR = (
    5.855, 5.855, 5.855, 5.955, 6.055, 6.155, 6.255, 6.356, 6.456, 6.556, 6.656, 6.756, 6.856, 6.956, 7.056,
    7.156, 7.257, 7.357, 7.457, 7.557, 7.657, 7.757, 7.857, 7.957, 8.057, 8.158, 8.258, 8.358, 8.458, 8.558,
    8.658, 8.758, 8.858, 8.958, 9.059, 9.159, 9.259, 9.359, 9.459, 9.559, 9.659, 9.759, 9.86, 9.96, 10.06,
    10.16, 10.26, 10.36, 10.46, 10.56, 10.66, 10.76, 10.86, 10.96, 11.06, 11.16, 11.26, 11.36, 11.46, 11.56,
    11.66, 11.17, 10.76, 10.89, 10.29, 9.735, 9.03, 8.625, 8.216, 7.741, 7.292, 6.906, 6.464, 6.053, 5.698,
    5.208, 4.858, 4.477, 4.125, 3.88, 3.601, 3.266, 3.009, 2.835, 2.627, 2.455, 2.387, 2.315,
)  # fmt: skip
SPECTRUM_QUIET = (
    0, 0.4469, 0, 0, 0.05275, 0.9235, 2.491, 2.588, 2.973, 5.22, 15.04, 15.77, 11.84, 11.53, 12.47, 12.69,
    12.97, 27.66, 40.63, 46.91, 50.99, 86.57, 89.31, 104.7, 52.32, 33.29, 30.68, 33.09, 53.32, 82.12, 134.5,
    222.7, 198, 178.7, 84.12, 71.59, 28.93, 22.69, 14.44, 10.88, 9.212, 8.1, 6.505, 5.608, 4.979, 5.854,
    7.865, 9.968, 10.97, 10.22, 7.551, 8.187, 6.873, 4.848, 3.142, 1.567, 2.129, 1.501, 0.8866, 0.4109, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
)  # fmt: skip
SPECTRUM_ACTIVE = (
    0.004996, 0.2081, 0.43, 0.3211, 0.9037, 9.49, 17.24, 10.71, 5.451, 10.51, 65.02, 109, 67.73, 37.19,
    33.22, 35.1, 58.33, 151.8, 155.7, 64.49, 41.68, 100.7, 185.9, 197.6, 89.18, 62.12, 80.48, 95.96, 132.3,
    166, 174.4, 260.5, 489.7, 375.9, 160.7, 89.06, 60.92, 42.58, 17.81, 14.7, 7.898, 8.678, 7.447, 6.369,
    5.861, 7.42, 10.37, 13.13, 13.17, 9.549, 8.108, 6.706, 6.643, 4.533, 3.186, 3.053, 1.631, 1.472, 1.575,
    1.191, 0.8804, 0.918, 0.889, 0.3109, 0.2872, 0.08203, 0.167, 0.05234, 0.0209, 0, 0.001373, 0.02873,
    0.01388, 0, 0, 0.03902, 0, 0, 0.03022, 0.005385, 0, 0.005268, 0.007984, 0, 0.0008047, 0.02342, 0, 0,
)  # fmt: skip
