"""Array layout shared by the network builder and the compiled kernels: kinds, rows, columns."""

KIND_LIF = 0
KIND_LIF_COND = 1
KIND_IZHIKEVICH = 2
KIND_POISSON = 3
KIND_GENERATOR = 4

# rows of the parameter array P[NP, B, N]
P_V_REST, P_V_TH, P_V_RESET, P_DECAY_M, P_TAU_M, P_THETA_DECAY, P_THETA_JUMP = range(7)
P_IZ_A, P_IZ_B, P_IZ_C, P_IZ_D = range(7, 11)
N_PARAMS = 11

# rows of the state array X[NS, B, N]: v, theta (adaptive threshold), u (Izhikevich), channels
S_V, S_THETA, S_U, S_G0 = 0, 1, 2, 3
TARGET_V = -1  # synapse target "v": the weight jumps the membrane potential

# columns of the group table (int64 [G, 10]); *STRIDE is 0 when uniform over neurons and copies
G_START, G_STOP, G_KIND, G_NCH, G_DOFF, G_DS, G_DEVERY, G_DSTRIDE, G_PSTRIDE, G_ADAPT = range(10)
# columns of the projection table (int64 [P, 10]); J_PLASTIC: STDP row or -1, J_REWARD: row of
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
# STDP parameters (float64 [K, 12]); see spikeflow.plasticity.STDP.engine_params
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
# reward-modulated STDP: table int64 [R, 3] (projection row, its synapse count, offset of its
# synapses in the eligibility array) and parameters float64 [R, 3] per step; see
# spikeflow.plasticity.RewardSTDP.engine_params
RW_PROJ, RW_N, RW_ELIG_OFF = range(3)
RP_DECAY_E, RP_LR, RP_DECAY_D = range(3)
# the eligibility is stored as e / scale, with one scale per projection and copy that takes the
# decay; it is folded back into e when it falls below this
ELIG_RESCALE = 1e-100
# columns of the state-monitor table (int64 [M, 5])
M_VAR, M_IDX_OFF, M_NIDX, M_EVERY, M_OUT_OFF = range(5)
