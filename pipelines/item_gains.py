"""Stage `item_gains`: each tools question's cross-validated gain in log loss on Kaggle 2021 respondents.

Without the survey the committed reports are kept as they are.
"""

from rolefit.config import load_params
from rolefit.model.item_gains import write_item_gains

written = write_item_gains(load_params())
print("wrote " + ", ".join(written) if written else "Kaggle 2021 not found; keeping the committed item gains")
