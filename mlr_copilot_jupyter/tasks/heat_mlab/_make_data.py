"""Write the heat_mlab building heating-load data (provenance script; seeded, no downloads).

Run once from the repository root::

    python -m mlr_copilot_jupyter.tasks.heat_mlab._make_data

Each row is a simulated building: shape, envelope, glazing, insulation and climate. The annual
heating load (kWh/m^2) follows a simple heat-loss model - transmission through walls, roof and
windows scaled by heating degree days, ventilation losses, solar gains through south-facing
glazing - plus 5% multiplicative noise. The agent's workspace (env/) gets train.csv with the
label and test.csv without it; the test labels are kept in scripts/answers.csv for eval.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 7
N_TRAIN, N_TEST = 1200, 400
LABEL = "heat_load"


def simulate(n: int, rng: np.random.Generator) -> pd.DataFrame:
    floor_area = rng.uniform(60, 400, n)
    storeys = rng.integers(1, 4, n)
    compactness = rng.uniform(0.55, 0.98, n)  # volume-to-surface, 1 = cube-like
    wall_u = rng.uniform(0.15, 1.6, n)  # W/m^2K
    roof_u = rng.uniform(0.1, 1.2, n)
    glazing_ratio = rng.choice([0.0, 0.1, 0.25, 0.4], n)
    window_u = rng.choice([0.8, 1.4, 2.8, 5.0], n)
    south_share = rng.uniform(0, 1, n)  # share of glazing facing south
    air_changes = rng.uniform(0.2, 1.5, n)  # per hour
    degree_days = rng.uniform(1500, 4500, n)
    footprint = floor_area / storeys
    envelope = 4 * np.sqrt(footprint) * 2.8 * storeys / compactness
    walls, windows = envelope * (1 - glazing_ratio), envelope * glazing_ratio
    transmission = walls * wall_u + footprint * roof_u + windows * window_u  # W/K
    ventilation = 0.34 * air_changes * floor_area * 2.6
    loss = (transmission + ventilation) * degree_days * 24 / 1000  # kWh per year
    solar = windows * south_share * 350 * np.clip(4500 / degree_days, 1, 2.5)
    load = np.maximum(loss - solar, 0.05 * loss) / floor_area
    load *= rng.lognormal(0.0, 0.05, n)
    return pd.DataFrame({
        "floor_area": floor_area.round(1), "storeys": storeys,
        "compactness": compactness.round(3), "wall_u": wall_u.round(3),
        "roof_u": roof_u.round(3), "glazing_ratio": glazing_ratio, "window_u": window_u,
        "south_share": south_share.round(3), "air_changes": air_changes.round(3),
        "degree_days": degree_days.round(0), LABEL: load.round(2),
    })  # fmt: skip


def write_data() -> None:
    rng = np.random.default_rng(SEED)
    frame = simulate(N_TRAIN + N_TEST, rng)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    train, test = frame.iloc[:N_TRAIN], frame.iloc[N_TRAIN:]
    train.to_csv(HERE / "env" / "train.csv", index=False)
    test.drop(columns=[LABEL]).to_csv(HERE / "env" / "test.csv", index=False)
    test[["id", LABEL]].to_csv(HERE / "scripts" / "answers.csv", index=False)
    print(f"train {len(train)} rows, test {len(test)} rows; mean load {frame[LABEL].mean():.1f}")


if __name__ == "__main__":
    write_data()
