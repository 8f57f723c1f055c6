"""Array layout shared by the network builder and the engines: kinds, rows, columns, widths.

Every table of :class:`spikeflow.sim.compiled.CompiledNetwork` is described here, and only here:
the builder (:mod:`spikeflow.sim.build`), both engines and :mod:`spikeflow.plasticity` (whose
rules fill their engine rows through :mod:`spikeflow.sim.plastic_rows`) read these names.
"""

KIND_LIF = 0
KIND_LIF_COND = 1
KIND_IZHIKEVICH = 2
KIND_POISSON = 3
KIND_GENERATOR = 4
KIND_ADLIF = 5

# rows of the parameter array P[NP, B, N]
P_V_REST, P_V_TH, P_V_RESET, P_DECAY_M, P_TAU_M, P_THETA_DECAY, P_THETA_JUMP = range(7)
P_IZ_A, P_IZ_B, P_IZ_C, P_IZ_D = range(7, 11)
N_PARAMS = 11
# adLIF groups (the discrete adLIF of spikeflow.nn.AdLIF) reuse rows: beta, rho, a, b
P_AD_BETA, P_AD_RHO, P_AD_A, P_AD_B = P_DECAY_M, P_THETA_DECAY, P_IZ_A, P_IZ_B

# rows of the state array X[NS, B, N]: v, theta (adaptive threshold), u (Izhikevich), channels
S_V, S_THETA, S_U, S_G0 = 0, 1, 2, 3
TARGET_V = -1  # synapse target "v": the weight jumps the membrane potential
# named state variables (channels follow); "w", the adaptation current of adLIF groups, is row u
STATE_ROWS = {"v": S_V, "theta": S_THETA, "u": S_U, "w": S_U}

# synaptic channel rows of the channel array ch[N_CH_ROWS, C, B, N]
CH_DECAY, CH_COUPLING, CH_EREV = range(3)
N_CH_ROWS = 3

# columns of the group table (int64 [G, N_GROUP_COLS]); G_PSTRIDE is 0 when the group's
# parameters are uniform over neurons and copies
G_START, G_STOP, G_KIND, G_NCH, G_PSTRIDE, G_ADAPT = range(6)
N_GROUP_COLS = 6
# columns of the drive table (int64 [G, N_DRIVE_COLS]): offset in the flat drive, rows, steps
# per row, and D_STRIDE 0 when the drive is uniform over neurons and copies
D_OFF, D_ROWS, D_EVERY, D_STRIDE = range(4)
N_DRIVE_COLS = 4
# columns of the projection table (int64 [P, N_PROJ_COLS]); J_PLASTIC: STDP row or -1, J_REWARD: row of
# the reward tables or -1 (reward-modulated projections have both)
(
    J_PRE_START,
    J_PRE_N,
    J_POST_START,
    J_POST_N,
    J_PTR_OFF,
    J_SYN_OFF,
    J_CHANNEL,
    J_PLASTIC,
    J_COL_OFF,
    J_REWARD,
) = range(10)
N_PROJ_COLS = 10
# STDP parameters (float64 [K, N_STDP_PARAMS]); filled by spikeflow.sim.plastic_rows
(
    SP_DX1,
    SP_DX2,
    SP_DY1,
    SP_DY2,
    SP_A2P,
    SP_A3P,
    SP_A2M,
    SP_A3M,
    SP_WMIN,
    SP_WMAX,
    SP_MULT,
    SP_NEAREST,
) = range(12)
N_STDP_PARAMS = 12
# STDP trace rows of trX / trY [K, N_TRACES, B, N]: fast (pair) and slow (triplet) trace
TR_FAST, TR_SLOW = range(2)
N_TRACES = 2
# reward-modulated STDP: table int64 [R, N_REWARD_COLS] (projection row, its synapse count,
# offset of its synapses in the eligibility array) and parameters float64 [R, N_REWARD_PARAMS]
# per step; filled by spikeflow.sim.plastic_rows
RW_PROJ, RW_N, RW_ELIG_OFF = range(3)
N_REWARD_COLS = 3
RP_DECAY_E, RP_LR, RP_DECAY_D = range(3)
N_REWARD_PARAMS = 3
# the eligibility is stored as e / scale, with one scale per projection and copy that takes the
# decay; it is folded back into e when it falls below this
ELIG_RESCALE = 1e-100
# columns of the state-monitor table (int64 [M, N_MON_COLS])
M_VAR, M_IDX_OFF, M_NIDX, M_EVERY, M_OUT_OFF = range(5)
N_MON_COLS = 5
# accumulator rows of the delay ring buffer acc[D, ACC_CH0 + C, B, N]: row ACC_V holds jumps of
# v (target "v"), row ACC_CH0 + c those of channel c
ACC_V, ACC_CH0 = 0, 1
