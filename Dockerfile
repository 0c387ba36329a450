# The assistant in one image: the project, its pinned Python packages (requirements.txt and
# requirements-nodeps.txt, installed as `make setup` installs them), the spaCy pipeline built
# by scripts/build_spacy_pipeline.py and the trained model. Telemetry is off; nothing is
# downloaded at run time.
#
#   make train && docker build -t threshold:latest .
#
# One image runs every part of the assistant (deploy/compose.yml, deploy/helm-values.yml):
# the Rasa server (the default command, as each server of `make cluster` runs it), the action
# server (`rasa run actions --actions actions --port 5055`) and the widget's page server
# (`python -m threshold.web --host 0.0.0.0 --port 8080 --rasa-port 5005`).
FROM python:3.10.13-slim-bookworm

ENV RASA_TELEMETRY_ENABLED=false \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONWARNINGS=ignore::DeprecationWarning \
    TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    HOME=/tmp

WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install --no-cache-dir --quiet pip==24.0 \
 && pip install --no-cache-dir --quiet -r requirements.txt \
 && pip install --no-cache-dir --quiet --no-deps --require-hashes -r requirements-nodeps.txt

COPY . .
RUN test -f models/threshold.tar.gz || { echo "Train the model first: make train" >&2; exit 1; } \
 && python scripts/build_spacy_pipeline.py .spacy/en_threshold \
 && mkdir -p logs && chown -R 1001 logs

# Not root: the assistant writes nothing but its logs (and Rasa's per-user files, under HOME=/tmp).
USER 1001
EXPOSE 5005 5055 8080
ENTRYPOINT []
CMD ["python", "-m", "threshold.rasa_server", "run", "--model", "models/threshold.tar.gz", "--endpoints", "endpoints.cluster.yml", "--credentials", "credentials.yml", "--interface", "0.0.0.0", "--port", "5005"]
