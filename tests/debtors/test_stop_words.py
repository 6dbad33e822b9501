import pytest

from debtors.models import StopMatch, StopWord
from debtors.stop_words import normalise, stop_matcher

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "reply",
    [
        "BAJA",
        "baja por favor",
        "No más",
        "Stop.",
        "unsubscribe me",
        "ya pagué, no me escriban más",
        "¡¡NO MÁS!!",
        "please STOP",
        "Denme de baja",
        "opt-out",
        "Cancelar",
        "sair",
        "Por favor parar de enviar mensagens",
        "stop 🙏",
    ],
)
def test_a_stop_class_reply_matches(stop_words, reply):
    assert stop_matcher().matches(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "no más tarde del viernes",
        "Ya pagué",
        "quiero cancelar la deuda",
        "la cuota más baja posible",
        "I will pay by the end of the month",
        "el monto es muy alto",
        "por favor",
        "",
        "   ",
    ],
)
def test_an_ordinary_reply_does_not_match(stop_words, reply):
    assert not stop_matcher().matches(reply)


def test_normalising_drops_case_accents_and_punctuation():
    assert normalise("  ¡No MÁS,  por-favor! ") == "no mas por favor"


def test_a_word_added_or_disabled_counts_at_once(stop_words):
    assert not stop_matcher().matches("basta")
    word = StopWord.objects.create(phrase="Basta", language="es", match=StopMatch.ALONE)
    assert stop_matcher().matches("¡basta ya!")
    word.enabled = False
    word.save()
    assert not stop_matcher().matches("basta")
